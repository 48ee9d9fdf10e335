"""集体报名信息导入 (001 §22) on SQLite and PostgreSQL: every rule, every hostile input, nothing half-written."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import DomainError
from core.imports.specs_group import GROUP_SPEC, import_group_file
from core.models import (
    Application, AuditLog, CandidateAccount, Enrollment, OpWindow, PaymentOrder, Registration, RegistryRecord,
    SiteSetting, SiteSubject, Subject,
)
from tests.factories import make_id_number

HEADER = ["序号", "姓名", "证件类型", "证件号码", "性别", "出生日期", "民族", "文化程度", "职业", "手机号码", "电子邮件",
          "院系", "专业", "班级", "学号", "邮编", "联系地址", "额外信息", "备注", "意向考试日期", "报考科目"]


def person(i: int, subjects: str = "14", **over) -> dict:
    p = {"姓名": f"考生{i}", "证件类型": "居民身份证", "证件号码": make_id_number(i), "民族": "汉族", "文化程度": "大学本科",
         "手机号码": f"1380000{i:04d}", "电子邮件": f"p{i}@example.com", "班级": "计算机一班", "报考科目": subjects}
    p.update(over)
    return p


def xlsx(rows: list[dict], header=HEADER, sheet="集体报名信息", extra_sheets=(), formulas=()) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for i, r in enumerate(rows, start=1):
        ws.append([i if h == "序号" else r.get(h) for h in header])
    for ref, f in formulas:
        ws[ref] = f
    for name in extra_sheets:
        wb.create_sheet(name).append(["样例", "数据"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def zipped(data: bytes, name: str = "集体报名.xlsx", gbk: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if gbk:  # made on Chinese Windows: GBK bytes, no UTF-8 flag
            info = zipfile.ZipInfo(name.encode("gbk").decode("cp437"))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        else:
            zf.writestr(name, data)
    return buf.getvalue()


SITE = "110001"


@pytest.fixture
def site(seed):
    """Site 110001 (opens subjects 14, 15, ...; class options 计算机一班/计算机二班/会计一班; max 3 subjects)."""
    sid = seed.orgs[SITE]
    term = seed.info["current_term"]
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == sid, SiteSetting.term_id == term)
                  .values(group_registration=True, review_required=False, total_capacity=2000))
        opened = {c: i for c, i in s.execute(select(Subject.code, Subject.id).join(
            SiteSubject, SiteSubject.subject_id == Subject.id).where(SiteSubject.site_id == sid,
                                                                     SiteSubject.term_id == term))}
    assert "14" in opened and "15" in opened
    return sid


def run(seed, rows_or_bytes, overwrite=False, dry_run=False, user="site110001", filename="集体报名.zip"):
    data = rows_or_bytes if isinstance(rows_or_bytes, bytes) else zipped(xlsx(rows_or_bytes))
    return import_group_file(seed.engine, seed.actor(user), data, filename, seed.orgs[SITE], overwrite=overwrite,
                             dry_run=dry_run)


def count(seed, model, *where):
    with session_scope(seed.engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def errors(res) -> list[str]:
    return [e.text for e in res.errors]


def set_capacity(seed, code, cap, total=None):
    with session_scope(seed.engine) as s:
        sid = s.scalar(select(Subject.id).where(Subject.code == code))
        s.execute(update(SiteSubject).where(SiteSubject.site_id == seed.orgs[SITE], SiteSubject.subject_id == sid,
                                            SiteSubject.term_id == seed.info["current_term"]).values(capacity=cap))
        if total is not None:
            s.execute(update(SiteSetting).where(SiteSetting.site_id == seed.orgs[SITE],
                                                SiteSetting.term_id == seed.info["current_term"])
                      .values(total_capacity=total))


# ---------------------------------------------------------------- the happy path
def test_import_creates_candidates_accounts_and_registrations(seed, site):
    rows = [person(1, "14;15"), person(2, "14"), person(3, "15", 证件号码=make_id_number(3).lower())]
    dry = run(seed, rows, dry_run=True)
    assert dry.ok and not dry.committed and count(seed, Enrollment) == 0
    res = run(seed, rows)
    assert res.committed and res.written == 3, errors(res)
    assert count(seed, Enrollment, Enrollment.site_id == site) == 3
    assert count(seed, Registration, Registration.site_id == site) == 4
    assert count(seed, CandidateAccount) == 3
    with session_scope(seed.engine) as s:
        e = s.scalar(select(Enrollment).where(Enrollment.name == "考生1"))
        assert e.channel == "group" and not e.locked and e.gender in ("男", "女") and e.birth_date.year == 2000
        acc = s.get(CandidateAccount, e.account_id)
        assert acc.password_hash is None and acc.must_change_password
        fees = s.scalars(select(Registration.fee).where(Registration.enrollment_id == e.id)).all()
        assert all(f > 0 for f in fees)
        audit = s.scalars(select(AuditLog).where(AuditLog.entity == "集体报名")).all()
        assert len(audit) == 1 and "写入 3" in audit[0].summary


def test_existing_email_binds_the_same_passport(seed, site):
    run(seed, [person(1)])
    res = run(seed, [person(2, 电子邮件="p1@example.com")])
    assert res.committed
    with session_scope(seed.engine) as s:
        accounts = set(s.scalars(select(Enrollment.account_id)))
    assert len(accounts) == 1 and count(seed, CandidateAccount) == 1


# ---------------------------------------------------------------- key and overwrite rules
def test_reimport_without_overwrite_fails_whole_file(seed, site):
    run(seed, [person(1)])
    res = run(seed, [person(1, "15"), person(2)])
    assert not res.committed and any("勾选“覆盖”" in t for t in errors(res))
    assert count(seed, Enrollment) == 1  # person 2 not written either


def test_overwrite_replaces_unpaid_keeps_paid(seed, site):
    run(seed, [person(1, "14;15")])
    with session_scope(seed.engine) as s:
        sub14 = s.scalar(select(Subject.id).where(Subject.code == "14"))
        s.execute(update(Registration).where(Registration.subject_id == sub14).values(paid=True))
    res = run(seed, [person(1, "24", 班级="计算机二班")], overwrite=True)
    assert res.committed, errors(res)
    with session_scope(seed.engine) as s:
        codes = sorted(s.scalars(select(Subject.code).join(Registration, Registration.subject_id == Subject.id)))
        assert codes == ["14", "24"]  # paid 14 kept, unpaid 15 replaced by 24
        assert s.scalar(select(Enrollment.class_name)) == "计算机二班"


def test_overwrite_refused_when_locked(seed, site):
    run(seed, [person(1)])
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).values(locked=True))
    res = run(seed, [person(1, "15")], overwrite=True)
    assert not res.committed and any("已锁定" in t for t in errors(res))


def test_cannot_overwrite_individual_registrant(seed, site):
    with session_scope(seed.engine) as s:
        from tests.factories import add_candidates
        add_candidates(s, site, seed.info["current_term"], 1, ("14",), start=1, channel="individual")
    res = run(seed, [person(1, "15")], overwrite=True)
    assert not res.committed and any("个人网报" in t for t in errors(res))


def test_registered_at_another_site_is_refused(seed, site):
    with session_scope(seed.engine) as s:
        from tests.factories import add_candidates
        add_candidates(s, seed.orgs["110002"], seed.info["current_term"], 1, ("14",), start=1)
    res = run(seed, [person(1)], overwrite=True)
    assert not res.committed and any("110002" in t for t in errors(res))


def test_batch_locked_subjects_cannot_change(seed, site):
    run(seed, [person(1)])
    with session_scope(seed.engine) as s:
        o = PaymentOrder(term_id=seed.info["current_term"], site_id=site, kind="group", state="unpaid", amount=80)
        s.add(o)
        s.flush()
        s.execute(update(Registration).values(order_id=o.id))
    res = run(seed, [person(1, "15")], overwrite=True)
    assert not res.committed and any("集体缴费批次锁定" in t for t in errors(res))


# ---------------------------------------------------------------- site settings
def test_site_rules(seed, site):
    rows = [person(1, "99"),  # unknown code
            person(2, "14;15;24;26"),  # more than max 3
            person(3, "14", 班级="不存在的班"),  # not one of the class options
            person(4, "14;14"),  # repeated
            person(5, "14", 意向考试日期="2030-01-01")]  # intent dates not enabled at 110001
    res = run(seed, rows)
    text = "\n".join(errors(res))
    assert "第 2 行【报考科目】：科目代码“99”不存在" in text
    assert "超过本考点报考最大科次数量 3" in text
    assert "第 4 行【班级】" in text
    assert "重复填写" in text
    assert "未启用考生选择意向考试日期" in text
    assert count(seed, Enrollment) == 0


def test_not_open_subject_and_zero_capacity(seed, site):
    set_capacity(seed, "15", 0)
    with session_scope(seed.engine) as s:
        opened = set(s.scalars(select(Subject.code).join(SiteSubject, SiteSubject.subject_id == Subject.id)
                               .where(SiteSubject.site_id == site, SiteSubject.term_id == seed.info["current_term"])))
        closed = next(c for c in s.scalars(select(Subject.code)) if c not in opened)
    res = run(seed, [person(1, "15"), person(2, closed)])
    text = "\n".join(errors(res))
    assert "不开考（容量为 0）" in text and f"本考点未开考科目（{closed}）" in text


def test_group_registration_disabled_refuses(seed, site):
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == site).values(group_registration=False))
    with pytest.raises(DomainError, match="未启用集体报名"):
        run(seed, [person(1)])


def test_only_the_sites_admin_inside_the_window(seed, site):
    with pytest.raises(DomainError):
        run(seed, [person(1)], user="prov11")
    with pytest.raises(DomainError):
        run(seed, [person(1)], user="site110002")
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == site, OpWindow.kind == "registration")
                  .values(end_at=datetime.now() - timedelta(days=1)))
    with pytest.raises(DomainError, match="报名管理时间"):
        run(seed, [person(1)])


def test_registry_settings_apply(seed, site):
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == site).values(
            registry_enabled=True, only_site_registry=True))
        s.add(RegistryRecord(site_id=site, id_number=make_id_number(1), name="考生1", education="大学本科"))
    res = run(seed, [person(1), person(2)])
    text = "\n".join(errors(res))
    assert "第 3 行【证件号码】：本考点仅接受本考点学籍库考生报考" in text and "第 2 行" not in text


def test_review_required_submits_and_locks(seed, site):
    with session_scope(seed.engine) as s:
        s.execute(update(SiteSetting).where(SiteSetting.site_id == site).values(review_required=True))
    res = run(seed, [person(1), person(2)])
    assert res.committed
    with session_scope(seed.engine) as s:
        es = s.scalars(select(Enrollment)).all()
        assert all(e.locked and e.review_app_id for e in es)
        assert {a.state for a in s.scalars(select(Application))} == {"pending"}


# ---------------------------------------------------------------- capacity
def test_capacity_is_checked_for_the_whole_file(seed, site):
    set_capacity(seed, "14", 2)
    res = run(seed, [person(i) for i in range(1, 4)])
    assert not res.committed and any("容量不足" in t and "剩余 2" in t for t in errors(res))
    assert count(seed, Registration) == 0
    res = run(seed, [person(i) for i in range(1, 3)])
    assert res.committed and count(seed, Registration) == 2


def test_total_capacity(seed, site):
    set_capacity(seed, "14", 99999, total=3)
    res = run(seed, [person(i, "14;15") for i in range(1, 3)])
    assert not res.committed and any("总科次容量不足" in t for t in errors(res))


def test_capacity_rechecked_at_commit(seed, site):
    """Someone took the last seat between the check and the commit: the commit refuses, nothing is written."""
    from core.imports.engine import ImportRow
    from core.imports.specs_group import _commit
    from tests.factories import add_candidates

    set_capacity(seed, "14", 1)
    actor = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        add_candidates(s, site, seed.info["current_term"], 1, ("14",), start=50)
    row = ImportRow(line=2, raw={}, values=dict(id_number=make_id_number(1), id_type="居民身份证", name="x",
                                                email="x@example.com", subject_ids=[]))
    with pytest.raises(DomainError, match="容量不足"):
        with session_scope(seed.engine) as s:
            row.values["subject_ids"] = [s.scalar(select(Subject.id).where(Subject.code == "14"))]
            _commit(s, actor, [row], {"site_id": site})
    assert count(seed, Enrollment) == 1


# ---------------------------------------------------------------- hostile and sloppy files
def test_id_number_problems(seed, site):
    good = make_id_number(7)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in make_id_number(8))
    rows = [person(1, 证件号码=bad_check), person(2, 证件号码=" " + make_id_number(9)[:9] + " " + make_id_number(9)[9:]),
            person(3, 证件号码=fullwidth), person(4, 证件号码="11010119900101"),
            person(5, 证件号码=make_id_number(5), 性别="女" if int(make_id_number(5)[16]) % 2 else "男")]
    res = run(seed, rows, dry_run=True)
    text = "\n".join(errors(res))
    assert "第 2 行【证件号码】：校验位错误" in text
    assert "第 3 行" not in text and "第 4 行" not in text  # spaces and full-width digits are normalised
    assert "第 5 行【证件号码】：应为 18 位" in text
    assert "第 6 行【性别】：与证件号码得出的性别" in text


def test_numbers_stored_by_excel_and_dates(seed, site):
    """An ID typed as a number (Excel keeps 15 digits), phone and 学号 as numbers, a date cell and a text date."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "集体报名信息"
    ws.append(HEADER)
    idn = make_id_number(11)
    ws.append([1, "甲", "居民身份证", int(idn[:17] + "0") if idn[-1] != "X" else 110101200001010000, None,
               None, "汉族", "大学本科", None, 13800001111, "a@example.com", None, None, "计算机一班", 2023001, None,
               None, None, None, None, "14"])
    ws.append([2, "乙", "居民身份证", make_id_number(12), None, datetime(2000, 1, 1), "汉族", "大学本科", None,
               "13800002222", "b@example.com", None, None, "计算机一班", "2023002", None, None, None, None, None, 14])
    ws.append([3, "丙", "居民身份证", make_id_number(13), None, "2000/1/1", "汉族", "大学本科", None,
               "13800003333", "c@example.com", None, None, "计算机一班", "2023003", None, None, None, None, None, "14"])
    buf = io.BytesIO()
    wb.save(buf)
    res = run(seed, zipped(buf.getvalue()), dry_run=True)
    text = "\n".join(errors(res))
    assert "第 2 行【证件号码】" in text and "15 位有效数字" in text
    assert "第 3 行" not in text and "第 4 行" not in text


def test_x_check_char_kept(seed, site):
    xs = [i for i in range(300) if make_id_number(i).endswith("X")][:2]
    rows = [person(xs[0], 证件号码=make_id_number(xs[0]).lower()), person(xs[1])]
    res = run(seed, rows)
    assert res.committed, errors(res)
    with session_scope(seed.engine) as s:
        assert all(n.endswith("X") and len(n) == 18 for n in s.scalars(select(Enrollment.id_number)))


def test_duplicates_in_file_and_missing_email(seed, site):
    res = run(seed, [person(1), person(1), person(2, 电子邮件=None)], dry_run=True)
    text = "\n".join(errors(res))
    assert "与第 3 行重复" in text and "第 4 行【电子邮件】：不能为空" in text


def test_header_problems_and_extra_sheets(seed, site):
    missing = [h for h in HEADER if h != "电子邮件"]
    res = run(seed, zipped(xlsx([person(1)], header=missing)), dry_run=True)
    assert res.file_error and any("电子邮件" in t and "缺少必填列" in t for t in errors(res))
    # extra sheets (样例, 码表) are not read; the data sheet is picked by name
    res = run(seed, zipped(xlsx([person(1)], extra_sheets=("样例", "码表"))), dry_run=True)
    assert res.ok, errors(res)
    # merged header cells
    wb = openpyxl.load_workbook(io.BytesIO(xlsx([person(1)])))
    wb.active.merge_cells("B1:C1")
    buf = io.BytesIO()
    wb.save(buf)
    res = run(seed, zipped(buf.getvalue()), dry_run=True)
    assert any("合并单元格" in t for t in errors(res))


def test_formulas_and_wrong_types(seed, site):
    res = run(seed, zipped(xlsx([person(1)], formulas=[("B2", '="张"&"三"')])), dry_run=True)
    assert any("含公式" in t for t in errors(res))
    res = run(seed, zipped(b"not an excel file", "集体报名.xlsx"), dry_run=True)
    assert res.file_error and any("不是 Excel" in t for t in errors(res))
    res = run(seed, zipped(xlsx([person(1)]), "集体报名.xlsm"), dry_run=True)
    assert res.file_error
    res = run(seed, b"Rar!\x1a\x07\x00rest", filename="集体报名.rar", dry_run=True)
    assert res.file_error and any("RAR" in t.upper() for t in errors(res))
    res = run(seed, xlsx([person(1)]), filename="集体报名.zip", dry_run=True)  # an xlsx renamed .zip
    assert res.file_error


def test_gbk_member_names_and_csv_encodings(seed, site):
    res = run(seed, zipped(xlsx([person(1)]), "报名数据/集体报名信息.xlsx", gbk=True))
    assert res.committed, errors(res)
    for enc, bom in (("gbk", b""), ("utf-8", b"\xef\xbb\xbf")):
        lines = [",".join(HEADER[1:]),
                 ",".join(str(person(20 + len(bom), 班级="计算机一班").get(h) or "") for h in HEADER[1:])]
        data = bom + "\n".join(lines).encode(enc)
        res = run(seed, zipped(data, f"名单-{enc}.csv"), dry_run=True)
        assert res.ok, (enc, errors(res))


def test_zip_with_two_tables_or_none(seed, site):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.xlsx", xlsx([person(1)]))
        zf.writestr("b.xlsx", xlsx([person(2)]))
    res = run(seed, buf.getvalue(), dry_run=True)
    assert res.file_error
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.xlsx", xlsx([person(1)]))
    res = run(seed, buf.getvalue(), dry_run=True)
    assert res.file_error


def test_large_error_report(seed, site):
    rows = [person(i, "99") for i in range(1200)]
    res = run(seed, rows, dry_run=True)
    assert res.error_rows == 1200
    wb = openpyxl.load_workbook(io.BytesIO(res.error_report()), read_only=True)
    assert sum(1 for _ in wb.worksheets[0].iter_rows()) >= 1201


def test_template_has_data_example_and_code_sheets(seed, site):
    from core.imports.engine import template_bytes
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes(seed.engine, GROUP_SPEC, seed.actor("site110001"))))
    assert wb.sheetnames[0] == "集体报名信息"
    assert any("码表" in n for n in wb.sheetnames) and len(wb.sheetnames) >= 2
