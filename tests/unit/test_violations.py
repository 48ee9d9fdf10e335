"""违规管理 (001 §38 违规信息管理, §39 违规分类统计) — SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select, text, update

from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyTerm, ValidationError, WindowClosed
from core.imports.engine import template_bytes
from core.imports.specs_violation import VIOLATION_SPEC, import_violation_file
from core.models import AuditLog, Enrollment, OpWindow, Registration, Subject
from core.models.postexam import VIOLATION_CODES, VIOLATION_KINDS, Violation
from core.services import violations as vs
from tests.factories import add_candidates, seat_all

SITE, OTHER, GD = "110001", "110002", "440101"


@pytest.fixture
def A(seed):
    """Actors made up front (seed.actor opens its own unit of work)."""
    names = ["site110001", "site110002", "site440101", "city1101", "city4401", "prov11", "prov44", "center"]
    out = {n: seed.actor(n) for n in names}
    out["site110001@past"] = seed.actor("site110001", term="past")
    return out


@pytest.fixture
def world(seed):
    """Arranged and numbered: 110001 (4 candidates × 14, 15), 110002 (2 × 14), 440101 (2 × 24).
    Returns {site code: [ticket numbers in order]}."""
    tid = seed.info["current_term"]
    out = {}
    with session_scope(seed.engine) as s:
        for code, n, subjects, start in ((SITE, 4, ("14", "15"), 0), (OTHER, 2, ("14",), 100), (GD, 2, ("24",), 200)):
            sid = seed.orgs[code]
            add_candidates(s, sid, tid, n, subjects, paid=True, start=start)
            seat_all(s, sid, tid)
            out[code] = list(s.scalars(select(Registration.ticket_no).where(Registration.site_id == sid)
                                       .order_by(Registration.ticket_no)))
    return out


def call(seed, actor, fn, *args, **kw):
    with session_scope(seed.engine) as s:
        return fn(s, actor, *args, **kw)


def set_window(seed, code, kind, start, end):
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == seed.orgs[code], OpWindow.kind == kind,
                                         OpWindow.term_id == seed.info["current_term"])
                  .values(start_at=start, end_at=end))


def close_window(seed, code, kind):
    past = datetime.now() - timedelta(days=30)
    set_window(seed, code, kind, past, past + timedelta(days=1))


def violations(seed, **where):
    with session_scope(seed.engine) as s:
        q = select(Violation)
        for k, v in where.items():
            q = q.where(getattr(Violation, k) == v)
        return list(s.scalars(q.order_by(Violation.ticket_no)))


def audits(seed, entity, action=None):
    with session_scope(seed.engine) as s:
        q = select(AuditLog).where(AuditLog.entity == entity)
        if action:
            q = q.where(AuditLog.action == action)
        return list(s.scalars(q.order_by(AuditLog.id)))


def xlsx(rows, header=("准考证号", "违纪类型", "备注"), sheet="违纪缺考信息") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- 违纪类型
def test_type_labels_and_spellings():
    assert vs.TYPE_LABELS["22"] == "作弊-夹带" and vs.TYPE_LABELS["12"] == "违纪-破坏考场秩序"
    assert [vs.TYPE_LABELS[c] for c in ("01", "11", "21", "99")] == ["缺考", "违纪", "作弊", "其他"]
    for text_, code in (("22", "22"), ("作弊-夹带", "22"), ("夹带", "22"), (" 作弊－夹带 ", "22"), ("1", "01"),
                        ("其他违规", "99"), ("其他", "99"), ("２５", "25"), ("缺考", "01")):
        assert vs.type_code(text_) == code, text_
    assert vs.type_code("迟到") is None and vs.type_code("") is None and vs.type_code("3") is None
    assert vs.require_type("替考") == ("25", "作弊")
    with pytest.raises(ValidationError, match="违纪类型“迟到”无效"):
        vs.require_type("迟到")
    with pytest.raises(ValidationError, match="请选择违纪类型"):
        vs.require_type("")


# ---------------------------------------------------------------- lookup
def test_lookup_shows_name_masked_id_and_subject(seed, world, A):
    t = world[SITE][0]
    info = call(seed, A["site110001"], vs.lookup_ticket, seed.orgs[SITE], f" {t[:8]} {t[8:]} ")
    with session_scope(seed.engine) as s:
        r = s.scalar(select(Registration).where(Registration.ticket_no == t))
        subj = s.get(Subject, r.subject_id)
        e = s.get(Enrollment, r.enrollment_id)
    assert info.ticket_no == t and info.registration_id == r.id and info.name == e.name
    assert info.subject == f"({subj.code}){subj.name}"
    assert info.id_masked != e.id_number and info.id_masked.endswith(e.id_number[-4:]) and "*" in info.id_masked
    assert info.as_row()["证件号"] == info.id_masked


def test_lookup_errors(seed, world, A):
    site = seed.orgs[SITE]
    a = A["site110001"]
    with pytest.raises(ValidationError, match="请输入准考证号"):
        call(seed, a, vs.lookup_ticket, site, "  ")
    with pytest.raises(ValidationError, match="本考次没有准考证号为“9999999999999999”的考生"):
        call(seed, a, vs.lookup_ticket, site, "9999999999999999")
    with pytest.raises(ValidationError, match="不是本考点的考生"):
        call(seed, a, vs.lookup_ticket, site, world[OTHER][0])
    call(seed, a, vs.add_violation, site, world[SITE][0], "缺考")
    with pytest.raises(ValidationError, match="已有违规信息"):
        call(seed, a, vs.lookup_ticket, site, world[SITE][0])
    # another site's admin cannot even look up at this site
    with pytest.raises(NotFound, match="不在您的管理范围"):
        call(seed, A["site110002"], vs.lookup_ticket, site, world[SITE][1])


# ---------------------------------------------------------------- add / edit / delete
def test_add_edit_delete_happy_path_is_audited(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    t = world[SITE][1]
    vid = call(seed, a, vs.add_violation, site, t, "作弊-夹带", " 携带手机 ")
    v = violations(seed, id=vid)[0]
    assert (v.ticket_no, v.code, v.kind, v.remark, v.source, v.site_id, v.created_by) == (
        t, "22", "作弊", "携带手机", "manual", site, a.user_id)
    with session_scope(seed.engine) as s:
        r = s.scalar(select(Registration).where(Registration.ticket_no == t))
    assert (v.registration_id, v.subject_id, v.term_id) == (r.id, r.subject_id, seed.info["current_term"])
    (log,) = audits(seed, vs.ENTITY, "create")
    assert log.entity_id == str(vid) and log.org_id == site and "作弊-夹带" in log.summary

    call(seed, a, vs.edit_violation, vid, "12", "")
    v = violations(seed, id=vid)[0]
    assert (v.code, v.kind, v.remark) == ("12", "违纪", None)
    (log,) = audits(seed, vs.ENTITY, "update")
    assert log.before["code"] == "22" and log.after["code"] == "12"

    row = call(seed, a, vs.get_violation, vid)
    assert row["违纪类型"] == "违纪-破坏考场秩序" and row["违纪类别"] == "违纪" and row["准考证号"] == t

    assert call(seed, a, vs.delete_violation, vid) == 1
    assert not violations(seed)
    (log,) = audits(seed, vs.ENTITY, "delete")
    assert t in log.summary


def test_delete_selected(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    ids = [call(seed, a, vs.add_violation, site, t, "缺考") for t in world[SITE][:3]]
    assert call(seed, a, vs.delete_violations, ids[:2]) == 2
    assert [v.id for v in violations(seed)] == [ids[2]]
    with pytest.raises(ValidationError, match="请先选择"):
        call(seed, a, vs.delete_violations, [])


def test_add_validation_errors(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    with pytest.raises(ValidationError, match="请选择违纪类型"):
        call(seed, a, vs.add_violation, site, world[SITE][0], "")
    with pytest.raises(ValidationError, match="无效"):
        call(seed, a, vs.add_violation, site, world[SITE][0], "迟到")
    with pytest.raises(ValidationError, match="备注不能超过 200 个字符"):
        call(seed, a, vs.add_violation, site, world[SITE][0], "缺考", "x" * 201)
    with pytest.raises(ValidationError, match="不是本考点的考生"):
        call(seed, a, vs.add_violation, site, world[GD][0], "缺考")
    call(seed, a, vs.add_violation, site, world[SITE][0], "缺考")
    with pytest.raises(ValidationError, match="已有违规信息"):
        call(seed, a, vs.add_violation, site, world[SITE][0], "作弊")
    assert len(violations(seed)) == 1


def test_window_closed_refuses_writes(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    vid = call(seed, a, vs.add_violation, site, world[SITE][0], "缺考")
    close_window(seed, SITE, "violation")
    for fn, args in ((vs.add_violation, (site, world[SITE][1], "缺考")), (vs.edit_violation, (vid, "作弊")),
                     (vs.delete_violations, ([vid],))):
        with pytest.raises(WindowClosed, match="缺考违纪管理时间"):
            call(seed, a, fn, *args)
    with pytest.raises(WindowClosed):
        import_violation_file(seed.engine, a, xlsx([[world[SITE][1], "缺考", ""]]), "v.xlsx", site)
    assert [(v.id, v.code) for v in violations(seed)] == [(vid, "01")]
    # viewing is not limited
    rows, total = call(seed, a, vs.list_violations, vs.ViolationQuery(site_id=site))
    assert total == 1
    assert not call(seed, a, vs.site_state, site)["writable"]


def test_past_term_is_read_only(seed, world, A):
    with pytest.raises(ReadOnlyTerm, match="历史考次"):
        call(seed, A["site110001@past"], vs.add_violation, seed.orgs[SITE], world[SITE][0], "缺考")


@pytest.mark.parametrize("user", ["city1101", "prov11", "center"])
def test_upper_levels_cannot_write(seed, world, A, user):
    site = seed.orgs[SITE]
    vid = call(seed, A["site110001"], vs.add_violation, site, world[SITE][0], "缺考")
    u = A[user]
    with pytest.raises(PermissionDenied, match="上级机构只能查询查看"):
        call(seed, u, vs.add_violation, site, world[SITE][1], "缺考")
    with pytest.raises(PermissionDenied):
        call(seed, u, vs.edit_violation, vid, "作弊")
    with pytest.raises(PermissionDenied):
        call(seed, u, vs.delete_violations, [vid])
    with pytest.raises(PermissionDenied):
        import_violation_file(seed.engine, u, xlsx([[world[SITE][1], "缺考", ""]]), "v.xlsx", site)
    assert len(violations(seed)) == 1
    rows, total = call(seed, u, vs.list_violations, vs.ViolationQuery(site_id=site))
    assert total == 1 and rows[0]["准考证号"] == world[SITE][0]
    assert not call(seed, u, vs.site_state, site)["writable"]


# ---------------------------------------------------------------- scope
def test_scope_site_admin_sees_and_touches_only_its_site(seed, world, A):
    mine = call(seed, A["site110001"], vs.add_violation, seed.orgs[SITE], world[SITE][0], "缺考")
    theirs = call(seed, A["site110002"], vs.add_violation, seed.orgs[OTHER], world[OTHER][0], "作弊")
    gd = call(seed, A["site440101"], vs.add_violation, seed.orgs[GD], world[GD][0], "违纪")
    a = A["site110001"]
    rows, total = call(seed, a, vs.list_violations, vs.ViolationQuery())
    assert total == 1 and [r["id"] for r in rows] == [mine]
    # asking for the other site's rows gives nothing, not its rows
    assert call(seed, a, vs.list_violations, vs.ViolationQuery(site_id=seed.orgs[OTHER])) == ([], 0)
    for fn, args in ((vs.get_violation, (theirs,)), (vs.edit_violation, (theirs, "缺考")),
                     (vs.delete_violations, ([theirs],)), (vs.delete_violations, ([mine, theirs],))):
        with pytest.raises(NotFound):
            call(seed, a, fn, *args)
    with pytest.raises(NotFound):
        call(seed, a, vs.add_violation, seed.orgs[OTHER], world[OTHER][1], "缺考")
    assert len(violations(seed)) == 3
    # a city sees its own sites only; a province its own
    ids = lambda u: {r["id"] for r in call(seed, A[u], vs.list_violations, vs.ViolationQuery())[0]}  # noqa: E731
    assert ids("city1101") == {mine, theirs} and ids("prov11") == {mine, theirs}
    assert ids("city4401") == {gd} and ids("prov44") == {gd} and ids("center") == {mine, theirs, gd}
    with pytest.raises(NotFound):
        call(seed, A["city4401"], vs.violation_stats, None, seed.orgs[SITE])


def test_list_filters_paging_and_masking(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    for i, t in enumerate(world[SITE]):
        call(seed, a, vs.add_violation, site, t, ("缺考", "夹带", "违纪")[i % 3], f"备注{i}")
    all_rows, total = call(seed, a, vs.list_violations, vs.ViolationQuery(site_id=site), 1, 3)
    assert total == 8 and len(all_rows) == 3
    page3, _ = call(seed, a, vs.list_violations, vs.ViolationQuery(site_id=site), 3, 3)
    assert len(page3) == 2
    rows = all_rows[0]
    assert "*" in rows["证件号码"] and len(rows["证件号码"]) == 18
    q = lambda **kw: call(seed, a, vs.list_violations, vs.ViolationQuery(site_id=site, **kw))  # noqa: E731
    assert {r["违纪类型"] for r in q(code="22")[0]} == {"作弊-夹带"} and q(code="22")[1] == 3
    assert q(kind="违纪")[1] == 2
    t = world[SITE][5]
    assert [r["准考证号"] for r in q(ticket_no=t)[0]] == [t]
    with session_scope(seed.engine) as s:
        r = s.scalar(select(Registration).where(Registration.ticket_no == t))
        e = s.get(Enrollment, r.enrollment_id)
        sid14 = s.scalar(select(Subject.id).where(Subject.code == "14"))
    mine = {x.ticket_no for x in violations(seed) if x.registration_id in {
        reg.id for reg in _regs_of(seed, e.id)}}
    assert len(mine) == 2  # the candidate's two subjects
    assert {x["准考证号"] for x in q(id_number=e.id_number.lower())[0]} == mine
    assert {x["准考证号"] for x in q(name=e.name)[0]} == mine
    assert q(subject_id=sid14)[1] == 4
    assert call(seed, a, vs.count_violations, vs.ViolationQuery(kind="缺考")) == 3


def _regs_of(seed, enrollment_id):
    with session_scope(seed.engine) as s:
        return list(s.scalars(select(Registration).where(Registration.enrollment_id == enrollment_id)))


# ---------------------------------------------------------------- export
def test_export_is_masked_formula_safe_and_audited(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    call(seed, a, vs.add_violation, site, world[SITE][0], "作弊", "=HYPERLINK(\"http://x\")")
    data, name = call(seed, a, vs.export_violations, vs.ViolationQuery(site_id=site))
    assert name.startswith("违规信息_") and name.endswith(".xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == vs.EXPORT_HEADER and len(rows) == 2
    rec = dict(zip(rows[0], rows[1]))
    assert rec["准考证号"] == world[SITE][0] and rec["违纪类型"] == "作弊" and "*" in rec["证件号码"]
    cell = ws.cell(row=2, column=rows[0].index("备注") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=")  # a string, never a formula
    (log,) = audits(seed, vs.ENTITY, "export")
    assert log.after["rows"] == 1


def test_export_windows(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    call(seed, a, vs.add_violation, site, world[SITE][0], "缺考")
    close_window(seed, SITE, "violation")
    data, _ = call(seed, a, vs.export_violations, vs.ViolationQuery(site_id=site))  # 考后资料下载时间 is open
    assert data
    close_window(seed, SITE, "post_exam_download")
    with pytest.raises(DomainError, match="不在缺考违纪管理时间或考后资料下载时间内"):
        call(seed, a, vs.export_violations, vs.ViolationQuery(site_id=site))
    set_window(seed, SITE, "violation", datetime.now() - timedelta(days=1), datetime.now() + timedelta(days=1))
    assert call(seed, a, vs.export_violations, vs.ViolationQuery(site_id=site))[0]
    # upper levels are not bound by the windows (§9.3) and export their scope
    close_window(seed, SITE, "violation")
    data, _ = call(seed, A["city1101"], vs.export_violations, vs.ViolationQuery())
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == SITE
    data, _ = call(seed, A["city4401"], vs.export_violations, vs.ViolationQuery())
    assert len(list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))) == 1
    assert len(audits(seed, vs.ENTITY, "export")) == 4


# ---------------------------------------------------------------- import
def test_template_has_code_table(seed, A):
    data = template_bytes(seed.engine, VIOLATION_SPEC, A["site110001"])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == "违纪缺考信息"
    assert [c.value for c in wb["违纪缺考信息"][1]] == ["准考证号", "违纪类型", "备注"]
    code_sheet = next(n for n in wb.sheetnames if n.startswith("码表"))
    values = [tuple(r) for r in wb[code_sheet].iter_rows(min_row=2, values_only=True)]
    assert ("22", "作弊-夹带") in values and ("99", "其他") in values and len(values) == len(VIOLATION_CODES)


def test_import_inserts_and_updates(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    t = world[SITE]
    old = call(seed, a, vs.add_violation, site, t[0], "缺考", "旧备注")
    data = xlsx([[t[0], "作弊-夹带", ""], [t[1], "夹带", "携带纸条"], [t[2], "12", ""],
                 [t[3], "1", ""], [t[4], " 其他违规 ", "考场喧哗"]])
    dry = import_violation_file(seed.engine, a, data, "违规.xlsx", site)
    assert dry.ok and (dry.total, dry.valid) == (5, 5) and not dry.committed
    assert len(violations(seed)) == 1  # the check writes nothing
    res = import_violation_file(seed.engine, a, data, "违规.xlsx", site, dry_run=False)
    assert res.committed and res.written == 5 and "新增违规信息 4 条，更新已有违规信息 1 条" in res.summary["message"]
    got = {v.ticket_no: (v.code, v.kind, v.remark, v.source) for v in violations(seed)}
    assert got == {t[0]: ("22", "作弊", None, "import"), t[1]: ("22", "作弊", "携带纸条", "import"),
                   t[2]: ("12", "违纪", None, "import"), t[3]: ("01", "缺考", None, "import"),
                   t[4]: ("99", "其他违规", "考场喧哗", "import")}
    assert violations(seed, ticket_no=t[0])[0].id == old  # updated in place
    (log,) = audits(seed, vs.ENTITY, "import")
    assert "写入 5" in log.summary and log.org_id == site


def test_import_row_errors_all_or_nothing(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    t = world[SITE]
    data = xlsx([[t[0], "缺考", ""],            # row 2: fine
                 ["9999999999999999", "缺考", ""],  # row 3: unknown
                 [world[OTHER][0], "缺考", ""],     # row 4: another site
                 [t[1], "迟到", ""],               # row 5: bad type
                 [t[2], "", ""],                   # row 6: type missing
                 ["", "缺考", ""],                  # row 7: ticket missing
                 [t[3], "缺考", "x" * 201],         # row 8: remark too long
                 [t[4], "缺考", ""], [t[4], "作弊", ""],  # rows 9, 10: duplicate
                 ["12ab-34", "缺考", ""],           # row 11: bad format
                 [t[5], "缺考", "=1+1"]])           # row 12: a formula
    res = import_violation_file(seed.engine, a, data, "违规.xlsx", site, dry_run=False)
    assert not res.committed and not violations(seed)
    got = {(e.row, e.column): e.message for e in res.errors}
    assert "本考次没有准考证号为“9999999999999999”的考生" in got[(3, "准考证号")]
    assert "不是本考点的考生" in got[(4, "准考证号")]
    assert "“迟到”不是有效的违纪类型" in got[(5, "违纪类型")]
    assert got[(6, "违纪类型")] == "不能为空" and got[(7, "准考证号")] == "不能为空"
    assert "不能超过 200 个字符" in got[(8, "备注")]
    assert got[(9, "准考证号")] == "与第 10 行重复" and got[(10, "准考证号")] == "与第 9 行重复"
    assert "格式不正确" in got[(11, "准考证号")]
    assert "含公式" in got[(12, "备注")]
    assert (2, "准考证号") not in got and res.total == 11 and res.valid == 1
    assert res.error_table()[0]["行号"] == 3


def test_import_column_errors(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    res = import_violation_file(seed.engine, a, xlsx([[world[SITE][0], "缺考"]], header=("准考证号", "类型")),
                                "v.xlsx", site)
    msgs = {(e.column, e.message) for e in res.errors}
    assert ("违纪类型", "缺少必填列，请使用下载的模板") in msgs
    assert any(c == "类型" and "不是模板中的列" in m for c, m in msgs)
    assert res.file_error and not res.can_commit


# ---------------------------------------------------------------- 违规分类统计
def _sql_counts(seed, where_site=None, by="subject"):
    col = "v.subject_id" if by == "subject" else "v.site_id"
    sql = f"SELECT {col}, v.kind, v.code, COUNT(*) FROM violation v WHERE v.term_id = :t"
    params = {"t": seed.info["current_term"]}
    if where_site:
        sql += " AND v.site_id = :s"
        params["s"] = where_site
    sql += f" GROUP BY {col}, v.kind, v.code"
    with session_scope(seed.engine) as s:
        return s.execute(text(sql), params).all()


def test_stats_match_independent_sql(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    types = ["缺考", "夹带", "夹带", "违纪", "12", "其他", "替考", "缺考"]
    for t, ty in zip(world[SITE], types):
        call(seed, a, vs.add_violation, site, t, ty)
    call(seed, A["site110002"], vs.add_violation, seed.orgs[OTHER], world[OTHER][0], "作弊")
    call(seed, A["site440101"], vs.add_violation, seed.orgs[GD], world[GD][0], "缺考")

    table = call(seed, a, vs.violation_stats)
    assert table.columns[:6] == ("报考科目", "违规人次合计", *VIOLATION_KINDS)
    with session_scope(seed.engine) as s:
        subj = {i: f"({c}){n}" for i, c, n in s.execute(select(Subject.id, Subject.code, Subject.name))}
    expect: dict[str, dict[str, int]] = {}
    for sid, kind, code, n in _sql_counts(seed, site):
        d = expect.setdefault(subj[sid], {})
        d[kind] = d.get(kind, 0) + n
        d[code] = d.get(code, 0) + n
    assert len(table.body) == 2  # subjects 14 and 15 registered at the site
    for label, d in expect.items():
        row = table.row(label)
        assert row["违规人次合计"] == sum(d.get(k, 0) for k in VIOLATION_KINDS)
        for k in VIOLATION_KINDS:
            assert row[k] == d.get(k, 0), (label, k)
        for code, col in vs.FINE_COLUMNS.items():
            assert row[col] == d.get(code, 0), (label, code)
    total = table.total
    assert total["违规人次合计"] == 8 and total["作弊"] == 3 and total["缺考"] == 2 and total["违纪"] == 2
    assert total["其他违规"] == 1 and total["作弊-夹带(22)"] == 2
    assert {p["series"] for p in table.chart} == set(VIOLATION_KINDS)

    # 报考科目 filter
    with session_scope(seed.engine) as s:
        sid14 = s.scalar(select(Subject.id).where(Subject.code == "14"))
    only = call(seed, a, vs.violation_stats, sid14)
    assert [r[0] for r in only.body] == [subj[sid14]]
    assert only.total["违规人次合计"] == sum(expect[subj[sid14]].get(k, 0) for k in VIOLATION_KINDS) > 0

    # upper levels: one row per site of the scope
    city = call(seed, A["city1101"], vs.violation_stats)
    assert city.columns[0] == "考点"
    per_site = {sid: 0 for sid in (seed.orgs[SITE], seed.orgs[OTHER])}
    for sid, _k, _c, n in _sql_counts(seed, by="site"):
        if sid in per_site:
            per_site[sid] += n
    assert city.row(SITE)["违规人次合计"] == per_site[seed.orgs[SITE]] == 8
    assert city.row(OTHER)["违规人次合计"] == per_site[seed.orgs[OTHER]] == 1
    assert city.total["违规人次合计"] == 9  # not 广东's
    assert not any(GD in str(r[0]) for r in city.rows)
    # an upper level may look into one site of its scope
    one = call(seed, A["prov11"], vs.violation_stats, None, seed.orgs[OTHER])
    assert one.columns[0] == "报考科目" and one.total["作弊"] == 1
    assert call(seed, A["center"], vs.violation_stats).total["违规人次合计"] == 10


def test_stats_not_limited_by_windows_and_export_audited(seed, world, A):
    a, site = A["site110001"], seed.orgs[SITE]
    call(seed, a, vs.add_violation, site, world[SITE][0], "缺考")
    close_window(seed, SITE, "violation")
    close_window(seed, SITE, "post_exam_download")
    assert call(seed, a, vs.violation_stats).total["缺考"] == 1
    data, name = call(seed, a, vs.export_violation_stats)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("报考科目", "违规人次合计") and rows[-1][0] == "合计" and rows[-1][1] == 1
    (log,) = audits(seed, vs.STATS_TITLE, "export")
    assert "违规分类统计" in log.summary and name.endswith(".xlsx")
    past = call(seed, A["site110001@past"], vs.violation_stats)
    assert past.total["违规人次合计"] == 0


def test_cascade_with_registration(seed, world, A):
    """Deleting a 报考 drops its 违规 (ON DELETE CASCADE), on both back-ends."""
    vid = call(seed, A["site110001"], vs.add_violation, seed.orgs[SITE], world[SITE][0], "缺考")
    with session_scope(seed.engine) as s:
        s.execute(Registration.__table__.delete().where(Registration.ticket_no == world[SITE][0]))
    assert not violations(seed, id=vid)



def test_import_csv_gbk_and_bulk_lookup(seed, world, A):
    """A GBK CSV imports too; the look-ups are bulk: the statement count does not grow with the rows."""
    from sqlalchemy import event

    a, site = A["site110001"], seed.orgs[SITE]
    statements: list[str] = []

    def count(_conn, _cur, stmt, *_args):
        statements.append(stmt)

    def run(tickets, dry_run=True):
        csv = "准考证号,违纪类型,备注\r\n" + "".join(f"{t},作弊－夹带,第{i}行\r\n" for i, t in enumerate(tickets))
        statements.clear()
        event.listen(seed.engine, "before_cursor_execute", count)
        try:
            return import_violation_file(seed.engine, a, csv.encode("gbk"), "违规.csv", site, dry_run=dry_run)
        finally:
            event.remove(seed.engine, "before_cursor_execute", count)

    assert run(world[SITE][:2]).ok
    few = len(statements)
    assert run(world[SITE]).ok
    assert len(statements) == few
    res = run(world[SITE], dry_run=False)
    assert res.committed and res.written == 8
    assert {v.code for v in violations(seed)} == {"22"} and len(violations(seed)) == 8
