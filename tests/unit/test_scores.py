"""成绩管理 (001 §40–44): score CSV import and its three checks, 证书直邮信息导入, the score list, the DBF/CSV
downloads and the score statistics — SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, text, update

from core.admin import check_spec
from core.db import session_scope
from core.errors import DomainError, NotFound, PermissionDenied, ReadOnlyTerm, WindowClosed
from core.imports import specs_scores as sp
from core.models import AuditLog, Candidate, CandidatePhoto, Enrollment, OpWindow, Org, Registration, Subject
from core.models.postexam import CertMailing, Score, Violation
from core.services import generated as gen
from core.services import listing
from core.services import scores
from tests.factories import add_candidates, make_id_number, seat_all

SITE = "110001"
OTHER = "110002"
GZ_SITE = "440101"
HEADER = ["准考证号", "姓名", "证件号码", "科目代码", "成绩", "违规标记", "证书编号"]


@pytest.fixture(autouse=True)
def file_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))


@pytest.fixture
def A(seed):
    names = ["site110001", "site110002", "site440101", "city1101", "city4401", "prov11", "center"]
    out = {n: seed.actor(n) for n in names}
    out["site110001@past"] = seed.actor("site110001", term="past")
    return out


def numbered_site(seed, n=4, subjects=("14", "15"), code=SITE, start=0, born="20000101") -> list[dict]:
    """n candidates × subjects at the site, seated and numbered; their 报考 as dicts (ticket order)."""
    tid, sid = seed.info["current_term"], seed.orgs[code]
    with session_scope(seed.engine) as s:
        add_candidates(s, sid, tid, n, subjects, paid=True, start=start, born=born)
        seat_all(s, sid, tid)
    return regs_of(seed, code)


def regs_of(seed, code=SITE) -> list[dict]:
    tid, sid = seed.info["current_term"], seed.orgs[code]
    with session_scope(seed.engine) as s:
        rows = s.execute(select(Registration.id, Registration.ticket_no, Enrollment.name, Enrollment.id_number,
                                Subject.code, Registration.candidate_id, Registration.enrollment_id)
                         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
                         .join(Subject, Subject.id == Registration.subject_id)
                         .where(Registration.term_id == tid, Registration.site_id == sid,
                                Registration.ticket_no.is_not(None))
                         .order_by(Registration.ticket_no)).all()
    return [dict(rid=r[0], ticket=r[1], name=r[2], idn=r[3], code=r[4], cid=r[5], eid=r[6]) for r in rows]


def line(r: dict, score="75", flag="", cert="", **over) -> list[str]:
    row = {"ticket": r["ticket"], "name": r["name"], "idn": r["idn"], "code": r["code"], "score": score,
           "flag": flag, "cert": cert}
    row.update(over)
    return [row["ticket"], row["name"], row["idn"], row["code"], row["score"], row["flag"], row["cert"]]


def csv_bytes(rows, encoding="gbk", header=HEADER) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    t = buf.getvalue()
    return b"\xef\xbb\xbf" + t.encode("utf-8") if encoding == "utf-8-sig" else t.encode(encoding)


def imp(seed, actor, rows, *, encoding="gbk", filename="成绩.csv", commit=True, **opts):
    return sp.import_score_file(seed.engine, actor, csv_bytes(rows, encoding), filename, dry_run=not commit, **opts)


def score_map(seed, code=SITE) -> dict[str, tuple]:
    with session_scope(seed.engine) as s:
        return {t: (sc, fl, cert) for t, sc, fl, cert in s.execute(
            select(Score.ticket_no, Score.score, Score.flag, Score.cert_no).where(Score.site_id == seed.orgs[code]))}


def violations(seed, code=SITE) -> dict[int, tuple]:
    with session_scope(seed.engine) as s:
        return {r.registration_id: (r.kind, r.code, r.source) for r in s.scalars(
            select(Violation).where(Violation.site_id == seed.orgs[code]))}


def add_violation(seed, reg: dict, kind: str, code: str, site=SITE):
    with session_scope(seed.engine) as s:
        sid = s.scalar(select(Registration.subject_id).where(Registration.id == reg["rid"]))
        s.add(Violation(term_id=seed.info["current_term"], site_id=seed.orgs[site], registration_id=reg["rid"],
                        subject_id=sid, ticket_no=reg["ticket"], kind=kind, code=code, source="manual"))


def errors(result) -> list[tuple]:
    return [(e.row, e.column, e.message) for e in result.errors]


# ---------------------------------------------------------------- import: encodings, basic write, upsert
@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig"])
def test_import_reads_gbk_utf8_and_bom(seed, A, encoding):
    regs = numbered_site(seed, 3)
    rows = [line(r, score=str(60 + i), cert=f"C{i:05d}") for i, r in enumerate(regs)]
    rows[1] = line(regs[1], score="", flag="缺考")
    res = imp(seed, A["site110001"], rows, encoding=encoding, check_violation=False)
    assert res.committed and res.ok, errors(res)
    assert res.written == len(regs) == 6
    got = score_map(seed)
    assert got[regs[0]["ticket"]] == (60, "", "C00000")
    assert got[regs[1]["ticket"]] == (None, "缺考", None)
    assert got[regs[5]["ticket"]] == (65, "", "C00005")
    with session_scope(seed.engine) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.entity == "成绩信息", AuditLog.action == "import"))


def test_reimport_replaces_scores(seed, A):
    regs = numbered_site(seed, 2)
    actor = A["site110001"]
    assert imp(seed, actor, [line(r, score="50") for r in regs]).committed
    with session_scope(seed.engine) as s:
        ids_before = dict(s.execute(select(Score.registration_id, Score.id)).all())
    rows = [line(r, score="91", cert="Z1") if i == 0 else line(r, score="40") for i, r in enumerate(regs)]
    res = imp(seed, actor, rows)
    assert res.committed, errors(res)
    assert "覆盖 4" in res.summary["message"]
    got = score_map(seed)
    assert got[regs[0]["ticket"]] == (91, "", "Z1") and got[regs[1]["ticket"]] == (40, "", None)
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(Score)) == 4
        assert dict(s.execute(select(Score.registration_id, Score.id)).all()) == ids_before


def test_dry_run_writes_nothing(seed, A):
    regs = numbered_site(seed, 1)
    res = imp(seed, A["site110001"], [line(r) for r in regs], commit=False)
    assert res.ok and not res.committed and res.valid == 2
    assert score_map(seed) == {}


# ---------------------------------------------------------------- import: row checks
def test_row_checks_name_row_and_column_and_write_nothing(seed, A):
    regs = numbered_site(seed, 4)  # 8 报考: 14/15 each
    r14 = [r for r in regs if r["code"] == "14"]
    r15 = [r for r in regs if r["code"] == "15"]
    rows = [
        line(r14[0], code="15"),                      # 2: subject mismatch
        line(r14[1], score="101"),                    # 3: out of range
        line(r14[2], score="8.5"),                    # 4: not an integer
        line(r14[3], score="80", flag="缺考"),          # 5: 缺考 with a score
        line(r15[0], score=""),                       # 6: empty without a flag
        line(r15[1], score="59", cert="X1"),          # 7: certificate for a fail
        line(r15[2], flag="迟到"),                      # 8: unknown flag
        line(r15[3]),                                 # 9: fine, but duplicated on row 10
        line(r15[3]),                                 # 10
    ]
    res = imp(seed, A["site110001"], rows, check_violation=False)
    assert not res.committed and res.error_rows == 9 and res.valid == 0
    e = errors(res)
    assert (2, "科目代码", "与该准考证号的报考科目（14）不一致") in e
    assert any(x[:2] == (3, "成绩") and "不能大于 100" in x[2] for x in e)
    assert any(x[:2] == (4, "成绩") and "不是整数" in x[2] for x in e)
    assert (5, "成绩", "违规标记为缺考时成绩应为空") in e
    assert any(x[:2] == (6, "成绩") and "须在违规标记中填写" in x[2] for x in e)
    assert any(x[:2] == (7, "证书编号") and "及格" in x[2] for x in e)
    assert any(x[:2] == (8, "违规标记") and "不是有效选项" in x[2] for x in e)
    assert (9, "准考证号", "与第 10 行重复") in e and (10, "准考证号", "与第 9 行重复") in e
    assert score_map(seed) == {}


def test_only_csv_files(seed, A):
    regs = numbered_site(seed, 1)
    res = imp(seed, A["site110001"], [line(r) for r in regs], filename="成绩.xlsx")
    assert res.file_error and "只接受 .csv" in res.errors[0].message
    assert sp.SCORE_SPEC.upload_types == ("csv",) and sp.MAILING_SPEC.upload_types == ("csv",)


# ---------------------------------------------------------------- 校验无准考证号信息数据
def test_unknown_ticket_on_is_an_error_off_is_skipped(seed, A):
    regs = numbered_site(seed, 1)
    other = numbered_site(seed, 1, code=OTHER, start=500)  # a real ticket, but of another site
    stranger = ["9999999999999999", "某人", "110101200001010000", "14", "70", "", ""]
    rows = [line(r) for r in regs] + [line(other[0]), stranger]
    res = imp(seed, A["site110001"], rows)
    assert not res.committed
    assert [(r, c) for r, c, _m in errors(res)] == [(4, "准考证号"), (5, "准考证号")]
    assert "取消勾选“校验无准考证号信息数据”" in res.errors[0].message
    res = imp(seed, A["site110001"], rows, check_unknown=False)
    assert res.committed and res.ok and res.written == 2
    assert res.summary["skipped"] == 2 and "跳过无准考证号信息数据 2 行（第 4、5 行）" in res.summary["message"]
    label, name, data = res.summary["downloads"][0]
    assert "9999999999999999" in data.decode("utf-8-sig") and other[0]["ticket"] in data.decode("utf-8-sig")
    assert set(score_map(seed)) == {r["ticket"] for r in regs}
    assert score_map(seed, OTHER) == {}


# ---------------------------------------------------------------- 校验违规不一致
def test_violation_check_on_reports_both_values(seed, A):
    regs = numbered_site(seed, 2)
    add_violation(seed, regs[0], "作弊", "22")
    rows = [line(regs[0], score="0"), line(regs[1], score="", flag="缺考"),
            line(regs[2], score="0", flag="作弊"), line(regs[3])]
    res = imp(seed, A["site110001"], rows)
    e = errors(res)
    assert not res.committed
    assert (2, "违规标记", "与违规信息不一致：成绩文件为“无违规”，系统违规信息为“作弊”；以成绩文件为准时请取消勾选“校验违规不一致”") in e
    assert any(x[:2] == (3, "违规标记") and "成绩文件为“缺考”，系统违规信息为“无违规”" in x[2] for x in e)
    assert any(x[:2] == (4, "违规标记") and "成绩文件为“作弊”" in x[2] for x in e)
    assert len(e) == 3
    # the consistent file passes and leaves the Violation table alone
    rows = [line(regs[0], score="0", flag="作弊")] + [line(r) for r in regs[1:]]
    res = imp(seed, A["site110001"], rows)
    assert res.committed, errors(res)
    assert violations(seed) == {regs[0]["rid"]: ("作弊", "22", "manual")}


def test_violation_check_off_writes_the_file_flags(seed, A):
    regs = numbered_site(seed, 3)
    a, b, c, d, e_, f = regs
    add_violation(seed, a, "作弊", "22")   # same category in the file: kept as is (finer code stays)
    add_violation(seed, b, "违纪", "12")   # other category in the file: becomes 作弊 / 21 / score
    add_violation(seed, c, "缺考", "01")   # no flag in the file: removed
    rows = [line(a, score="0", flag="作弊"), line(b, score="0", flag="作弊"), line(c, score="66"),
            line(d, score="", flag="缺考"), line(e_, score="30", flag="其他违规"), line(f, score="88")]
    res = imp(seed, A["site110001"], rows, check_violation=False)
    assert res.committed and res.ok, errors(res)
    assert res.summary["violations"] == (2, 1, 1)
    v = violations(seed)
    assert v == {a["rid"]: ("作弊", "22", "manual"), b["rid"]: ("作弊", "21", "score"),
                 d["rid"]: ("缺考", "01", "score"), e_["rid"]: ("其他违规", "99", "score")}
    with session_scope(seed.engine) as s:
        row = s.scalar(select(AuditLog).where(AuditLog.entity == "违规信息"))
        assert "新增 2 条，修改 1 条，删除 1 条" in row.summary
        assert row.before == {b["ticket"]: "违纪", c["ticket"]: "缺考"}
        assert row.after == {b["ticket"]: "作弊", d["ticket"]: "缺考", e_["ticket"]: "其他违规"}
        viol_d = s.scalar(select(Violation).where(Violation.registration_id == d["rid"]))
        assert viol_d.ticket_no == d["ticket"] and viol_d.created_by == A["site110001"].user_id
    # now the table matches the file: the checked import passes
    assert imp(seed, A["site110001"], rows).committed


# ---------------------------------------------------------------- 校验姓名和证件号
def test_identity_check_on_names_both_values(seed, A):
    regs = numbered_site(seed, 2, subjects=("14",))
    new_id = make_id_number(900, born="19990101")
    rows = [line(regs[0], name="王小明"), line(regs[1], idn=new_id)]
    res = imp(seed, A["site110001"], rows)
    assert not res.committed
    assert errors(res) == [
        (2, "姓名", f"{sp.IDENTITY_MISMATCH}：成绩文件为“王小明”，系统中为“{regs[0]['name']}”"),
        (3, "证件号码", f"{sp.IDENTITY_MISMATCH}：成绩文件为“{new_id}”，系统中为“{regs[1]['idn']}”")]
    assert sp.identity_mismatches(res) == 2
    with session_scope(seed.engine) as s:
        assert s.get(Enrollment, regs[0]["eid"]).name == regs[0]["name"]


def test_identity_check_off_updates_the_system(seed, A):
    regs = numbered_site(seed, 2, subjects=("14", "15"))
    mine = [r for r in regs if r["cid"] == regs[0]["cid"]]
    rest = [r for r in regs if r["cid"] != regs[0]["cid"]]
    new_id = make_id_number(901, born="19990101")
    tid, sid = seed.info["current_term"], seed.orgs[SITE]
    with session_scope(seed.engine) as s:  # the site's photo directory follows the number
        s.add(CandidatePhoto(term_id=tid, site_id=sid, id_number=mine[0]["idn"], sha256="a" * 64, size=1))
    rows = [line(r, name="王小明", idn=new_id) for r in mine] + [line(r) for r in rest]
    res = imp(seed, A["site110001"], rows, check_identity=False)
    assert res.committed and res.ok, errors(res)
    assert res.summary["people"] == 1
    with session_scope(seed.engine) as s:
        e = s.get(Enrollment, mine[0]["eid"])
        c = s.get(Candidate, mine[0]["cid"])
        assert (e.name, e.id_number, c.name, c.id_number) == ("王小明", new_id, "王小明", new_id)
        assert s.scalar(select(CandidatePhoto.id_number).where(CandidatePhoto.sha256 == "a" * 64)) == new_id
        other = s.get(Enrollment, rest[0]["eid"])
        assert (other.name, other.id_number) == (rest[0]["name"], rest[0]["idn"])
        log = s.scalar(select(AuditLog).where(AuditLog.entity == "报名信息", AuditLog.action == "update"))
        assert log.before == {str(mine[0]["eid"]): {"name": mine[0]["name"], "id_number": mine[0]["idn"]}}
        assert log.after == {str(mine[0]["eid"]): {"name": "王小明", "id_number": new_id}}
    # with the system updated, the checked import now passes
    assert imp(seed, A["site110001"], rows).committed


def test_identity_off_refuses_a_number_of_another_candidate_and_bad_numbers(seed, A):
    regs = numbered_site(seed, 3, subjects=("14", "15"))
    by_c: dict[int, list] = {}
    for r in regs:
        by_c.setdefault(r["cid"], []).append(r)
    p1, p2, p3 = list(by_c.values())
    rows = ([line(r, idn=p2[0]["idn"]) for r in p1]                       # another candidate's number
            + [line(p2[0], idn="110101200001011230"), line(p2[1])]        # invalid check digit / mixed rows
            + [line(p3[0], name="甲"), line(p3[1], name="乙")])          # one candidate, two names
    res = imp(seed, A["site110001"], rows, check_identity=False)
    assert not res.committed
    e = errors(res)
    assert (2, "证件号码", f"证件号码“{p2[0]['idn']}”已属于另一名考生（{p2[0]['name']}），不能改为此号码") in e
    assert any(x[:2] == (4, "证件号码") and "居民身份证号码无效" in x[2] for x in e)
    assert any(x[:2] == (6, "证件号码") and "姓名或证件号码不一致" in x[2] for x in e)
    assert any(x[:2] == (7, "证件号码") and "姓名或证件号码不一致" in x[2] for x in e)
    with session_scope(seed.engine) as s:
        assert s.get(Candidate, p1[0]["cid"]).id_number == p1[0]["idn"]
    # a number owned by a candidate of another site (not in this file) is refused too
    gz = numbered_site(seed, 1, subjects=("14",), code=GZ_SITE, start=600)
    res = imp(seed, A["site110001"], [line(r, idn=gz[0]["idn"]) for r in p1] + [line(r) for r in p2 + p3],
              check_identity=False)
    assert not res.committed and "已属于另一名考生" in res.errors[0].message


# ---------------------------------------------------------------- permissions and scope
def test_only_the_sites_own_admin_in_the_current_term(seed, A):
    regs = numbered_site(seed, 1)
    rows = [line(r) for r in regs]
    for who in ("city1101", "prov11", "center"):
        with pytest.raises(PermissionDenied):
            imp(seed, A[who], rows, site_id=seed.orgs[SITE])
    for who in ("site110002", "site440101"):  # another site's admin: not in its scope
        with pytest.raises(NotFound):
            imp(seed, A[who], rows, site_id=seed.orgs[SITE])
    with pytest.raises(ReadOnlyTerm):
        imp(seed, A["site110001@past"], rows)
    with pytest.raises(PermissionDenied):
        sp.import_cert_mailing_file(seed.engine, A["city1101"], b"x", "a.csv", seed.orgs[SITE])
    assert score_map(seed) == {}
    # the site's own admin imports into its own site by default
    assert imp(seed, A["site110001"], rows).committed


# ---------------------------------------------------------------- 证书直邮信息导入
MAIL_HEADER = ["准考证号", "姓名", "收件人", "联系电话", "邮寄地址", "邮政编码"]


def test_cert_mailing_import(seed, A):
    regs = numbered_site(seed, 2, subjects=("14",))
    a, b = regs
    rows = [[a["ticket"], a["name"], "张三", "138 0013 8000", "北京市海淀区中关村南大街5号", "100081"],
            [b["ticket"], b["name"], "李四", "13900139000", "北京市朝阳区", ""]]
    data = csv_bytes(rows, "utf-8-sig", MAIL_HEADER)
    res = sp.import_cert_mailing_file(seed.engine, A["site110001"], data, "直邮.csv", dry_run=False)
    assert res.committed and res.written == 2, errors(res)
    with session_scope(seed.engine) as s:
        got = {m.ticket_no: (m.recipient, m.phone, m.address, m.postcode) for m in s.scalars(select(CertMailing))}
    assert got == {a["ticket"]: ("张三", "13800138000", "北京市海淀区中关村南大街5号", "100081"),
                   b["ticket"]: ("李四", "13900139000", "北京市朝阳区", None)}
    # re-import replaces; bad rows fail the whole file
    rows[0][2] = "张三丰"
    res = sp.import_cert_mailing_file(seed.engine, A["site110001"], csv_bytes(rows, "gbk", MAIL_HEADER), "直邮.csv",
                                      dry_run=False)
    assert res.committed and "覆盖 2" in res.summary["message"]
    bad = [["9999", a["name"], "x", "13800138000", "地址", "100081"],
           [a["ticket"], "别人", "x", "12345", "地址", "10008"],
           [b["ticket"], b["name"], "x", "13800138000", "", "100081"]]
    res = sp.import_cert_mailing_file(seed.engine, A["site110001"], csv_bytes(bad, "gbk", MAIL_HEADER), "直邮.csv",
                                      dry_run=False)
    assert not res.committed
    e = errors(res)
    assert (2, "准考证号", "本考点本考次没有准考证号为“9999”的报考信息") in e
    assert any(x[:2] == (3, "姓名") and "系统中为" in x[2] for x in e)
    assert any(x[:2] == (3, "联系电话") for x in e) and any(x[:2] == (3, "邮政编码") and "6 位数字" in x[2] for x in e)
    assert (4, "邮寄地址", "不能为空") in e
    with session_scope(seed.engine) as s:
        assert s.scalar(select(CertMailing.recipient).where(CertMailing.ticket_no == a["ticket"])) == "张三丰"
        assert s.scalar(select(func.count()).select_from(CertMailing)) == 2


# ---------------------------------------------------------------- §42 list
def test_score_list_spec_filters_masks_and_scopes(seed, A):
    regs = numbered_site(seed, 3)
    flags = ["", "缺考", "", "作弊", "", ""]
    vals = ["95", "", "85", "0", "61", "12"]
    assert imp(seed, A["site110001"], [line(r, score=v, flag=f) for r, v, f in zip(regs, vals, flags)],
               check_violation=False).committed
    spec = scores.score_list_spec(seed.orgs[SITE])
    assert check_spec(spec) == []
    with session_scope(seed.engine) as s:
        page = listing.list_rows(s, A["site110001"], spec, page_size=50)
        assert page.total == 6
        row = next(r for r in page.rows if r["ticket_no"] == regs[0]["ticket"])
        assert row["id_number"] != regs[0]["idn"] and "*" in row["id_number"] and row["level"] == "优秀"
        for level, n in (("优秀", 1), ("良好", 1), ("及格", 1), ("不及格", 1), ("缺考", 1), ("作弊", 1), ("违纪", 0)):
            assert listing.list_rows(s, A["site110001"], spec, filters={"level": level}).total == n, level
        assert listing.list_rows(s, A["site110001"], spec, filters={"ticket_no": regs[2]["ticket"]}).total == 1
        assert listing.list_rows(s, A["site110001"], spec, filters={"name": regs[0]["name"]}).total == 2
        sid14 = s.scalar(select(Subject.id).where(Subject.code == "14"))
        assert listing.list_rows(s, A["site110001"], spec, filters={"subject_id": sid14}).total == 3
        assert listing.list_rows(s, A["city1101"], spec).total == 6
        assert listing.list_rows(s, A["city4401"], spec).total == 0  # another city's site: nothing
        assert listing.list_rows(s, A["site110002"], spec).total == 0
        assert not spec.can(A["site110001"], "export")


def test_level_of_matches_the_bands():
    assert [scores.level_of(x, "") for x in (100, 90, 89, 80, 79, 60, 59, 0)] == [
        "优秀", "优秀", "良好", "良好", "及格", "及格", "不及格", "不及格"]
    assert scores.level_of(95, "违纪") == "违纪" and scores.level_of(None, "缺考") == "缺考"
    assert scores.level_of(None, "") == ""


# ---------------------------------------------------------------- §43 downloads
def build(seed, fn, code=SITE, user="site110001"):
    actor = seed.actor(user)
    with session_scope(seed.engine) as s:
        return fn(s, actor, s.get(Org, seed.orgs[code]), {}, lambda f, t: None)


def test_no_scores_no_download(seed, A):
    numbered_site(seed, 1)
    with pytest.raises(DomainError, match="尚未导入成绩"):
        build(seed, scores.build_scores_dbf)
    with pytest.raises(DomainError, match="尚未导入成绩"):
        build(seed, scores.build_scores_csv)
    with session_scope(seed.engine) as s:
        assert scores.download_blocker(s, A["site110001"], seed.orgs[SITE]) == scores.NO_SCORES


def test_dbf_round_trip_every_row_with_chinese(seed, A, tmp_path):
    from dbfread import DBF

    regs = numbered_site(seed, 5)
    rows = [line(r, score=str(50 + 5 * i), cert="C%03d" % i if 50 + 5 * i >= 60 else "") for i, r in enumerate(regs)]
    rows[2] = line(regs[2], score="", flag="缺考")
    assert imp(seed, A["site110001"], rows, check_violation=False).committed
    with session_scope(seed.engine) as s:  # a name with rare and full-width characters
        s.execute(update(Enrollment).where(Enrollment.id == regs[0]["eid"]).values(name="欧阳𠀾ＡＢ"))
    built = build(seed, scores.build_scores_dbf)
    assert built.filename == "110001_成绩信息.zip" and built.rows == 10
    with zipfile.ZipFile(io.BytesIO(built.data)) as z:
        assert z.namelist() == ["110001.DBF"]
        (tmp_path / "s.dbf").write_bytes(z.read("110001.DBF"))
    recs = [dict(r) for r in DBF(str(tmp_path / "s.dbf"), encoding="gbk", char_decode_errors="strict")]
    assert len(recs) == 10
    assert [r["ZKZH"] for r in recs] == sorted(r["ticket"] for r in regs)
    by = {r["ZKZH"]: r for r in recs}
    for r, row in zip(regs, rows):
        rec = by[r["ticket"]]
        assert rec["XM"] == (r["name"] if r["eid"] != regs[0]["eid"] else "欧阳?ＡＢ")
        assert rec["ZJHM"] == r["idn"] and rec["KMDM"] == r["code"] and rec["KDDM"] == SITE
        assert rec["KDMC"] == "北京理工大学考点"
        assert rec["CJ"] == (int(row[4]) if row[4] else None)
        assert rec["WJBJ"] == row[5] and rec["ZSBH"] == row[6]
        assert rec["DJ"] == scores.level_of(rec["CJ"], row[5])
    with session_scope(seed.engine) as s:
        names = dict(s.execute(select(Subject.code, Subject.name)).all())
    assert all(rec["KMMC"] == names[rec["KMDM"]] and "计算机" in rec["KMMC"] for rec in recs)


def test_csv_download_is_gbk_and_formula_safe(seed, A):
    regs = numbered_site(seed, 2, subjects=("14",))
    assert imp(seed, A["site110001"], [line(regs[0], score="92", cert="A1"), line(regs[1], score="", flag="缺考")],
               check_violation=False).committed
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id == regs[1]["eid"]).values(name="=HYPERLINK(1)"))
    built = build(seed, scores.build_scores_csv)
    assert built.filename == "110001_成绩信息.csv" and built.rows == 2
    got = list(csv.reader(io.StringIO(built.data.decode("gbk"))))
    assert got[0] == scores.SCORE_CSV_HEADER
    assert got[1] == [regs[0]["ticket"], regs[0]["name"], "居民身份证", regs[0]["idn"], "14",
                      got[1][5], "92", "优秀", "", "A1", SITE, "北京理工大学考点"]
    assert got[2][1] == "'=HYPERLINK(1)" and got[2][6] == "" and got[2][7] == "缺考" and got[2][8] == "缺考"


def test_generate_and_download_through_the_framework(seed, A):
    regs = numbered_site(seed, 1)
    assert imp(seed, A["site110001"], [line(r) for r in regs]).committed
    actor, sid = A["site110001"], seed.orgs[SITE]
    with session_scope(seed.engine) as s:
        info = gen.generate(s, actor, sid, "scores_csv", scores.build_scores_csv)
        assert info.rows == 2 and not info.stale
    with session_scope(seed.engine) as s:
        data, name = gen.download(s, actor, sid, "scores_csv")
        assert name == "110001_成绩信息.csv" and regs[0]["ticket"] in data.decode("gbk")
    # a re-import makes the file stale
    assert imp(seed, actor, [line(r, score="10") for r in regs]).committed
    with session_scope(seed.engine) as s:
        assert gen.generated_info(s, actor, sid, "scores_csv").stale
    # CLI export: own site only, inside the 考后资料下载时间
    with session_scope(seed.engine) as s:
        data, name = scores.export_scores(s, actor, sid, "dbf")
        assert name.endswith(".zip") and zipfile.ZipFile(io.BytesIO(data)).namelist() == ["110001.DBF"]
        with pytest.raises(PermissionDenied):
            scores.export_scores(s, A["city1101"], sid, "csv")
        with pytest.raises(DomainError, match="未知的格式"):
            scores.export_scores(s, actor, sid, "xls")
        s.execute(update(OpWindow).where(OpWindow.org_id == sid, OpWindow.kind == "post_exam_download")
                  .values(start_at=datetime.now() + timedelta(days=1), end_at=datetime.now() + timedelta(days=2)))
    with session_scope(seed.engine) as s:
        with pytest.raises(WindowClosed):
            scores.export_scores(s, actor, sid, "csv")
        with pytest.raises(WindowClosed):
            gen.download(s, actor, sid, "scores_csv")
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.entity == "成绩信息", AuditLog.action == "export")) == 1


# ---------------------------------------------------------------- §44 statistics
def random_scores(seed, rnd: random.Random) -> None:
    """Random scores (flags, bands, empty) for three sites in two cities."""
    for code, start in ((SITE, 0), (OTHER, 300), (GZ_SITE, 600)):
        regs = numbered_site(seed, 12, subjects=("14", "15", "24"), code=code, start=start)
        rows = []
        for r in regs:
            flag = rnd.choice(["", "", "", "", "缺考", "违纪", "作弊", "其他违规"])
            score = "" if flag == "缺考" else str(rnd.randint(0, 100))
            rows.append(line(r, score=score, flag=flag))
        actor = seed.actor(f"site{code}")
        res = imp(seed, actor, rows, check_violation=False)
        assert res.committed, errors(res)


def sql_counts(seed, by: str, site_codes=None) -> dict[str, dict[str, int]]:
    """The statistics by an independent SQL (text) count: label -> level -> n."""
    col = "o.code" if by == "site" else "sub.code"
    where = ""
    if site_codes:
        where = "AND o.code IN (" + ",".join(f"'{c}'" for c in site_codes) + ")"
    q = text(f"""SELECT {col} AS k,
        CASE WHEN sc.flag <> '' THEN sc.flag
             WHEN sc.score >= 90 THEN '优秀' WHEN sc.score >= 80 THEN '良好'
             WHEN sc.score >= 60 THEN '及格' WHEN sc.score IS NOT NULL THEN '不及格' ELSE '' END AS lv,
        COUNT(*) FROM score sc JOIN org o ON o.id = sc.site_id JOIN subject sub ON sub.id = sc.subject_id
        WHERE sc.term_id = :t {where} GROUP BY 1, 2""")
    out: dict[str, dict[str, int]] = {}
    with session_scope(seed.engine) as s:
        for k, lv, n in s.execute(q, {"t": seed.info["current_term"]}):
            d = out.setdefault(k, {})
            d[lv] = d.get(lv, 0) + n
            d["人次"] = d.get("人次", 0) + n
    return out


def test_stats_equal_an_independent_count(seed, A):
    random_scores(seed, random.Random(7))
    expected = sql_counts(seed, "site")
    with session_scope(seed.engine) as s:
        table = scores.score_stats(s, A["center"], "site")
    assert table.columns == ("考点", "人次", "优秀", "良好", "及格", "不及格", "缺考", "违纪", "作弊", "其他违规")
    seen = 0
    for rec in table.records()[:-1]:
        code = rec["考点"][1:7]
        exp = expected.get(code, {})
        assert {k: rec[k] for k in table.columns[1:]} == {k: exp.get(k, 0) for k in table.columns[1:]}, code
        assert rec["人次"] == sum(rec[k] for k in scores.LEVELS)
        seen += bool(exp)
    assert seen == 3
    total = table.total
    assert total["考点"] == "合计" and total["人次"] == 3 * 36
    for k in table.columns[1:]:
        assert total[k] == sum(v.get(k, 0) for v in expected.values())
    # by subject
    exp_sub = sql_counts(seed, "subject")
    with session_scope(seed.engine) as s:
        sub = scores.score_stats(s, A["center"], "subject")
    assert len(sub.body) == 3
    for rec in sub.records()[:-1]:
        code = rec["科目"].split(")")[0][1:]
        assert {k: rec[k] for k in sub.columns[1:]} == {k: exp_sub[code].get(k, 0) for k in sub.columns[1:]}
    assert {k: v for k, v in sub.total.items() if k != "科目"} == {k: v for k, v in total.items() if k != "考点"}


def test_city_stats_and_export_stay_in_scope(seed, A):
    random_scores(seed, random.Random(11))
    expected = sql_counts(seed, "site", [SITE, OTHER])
    with session_scope(seed.engine) as s:
        table = scores.score_stats(s, A["city1101"], "site")
        data, name = scores.export_score_stats(s, A["city1101"], "site")
        by_subject = scores.score_stats(s, A["city1101"], "subject")
    labels = [r[0] for r in table.body]
    assert labels and all(label.startswith("(1100") for label in labels)
    assert not any("4401" in label for label in labels)
    assert table.total["人次"] == sum(v["人次"] for v in expected.values()) == 72
    assert by_subject.total["人次"] == 72
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for row in wb.active.iter_rows(values_only=True) for c in row]
    assert "(110001)北京理工大学考点" in cells and not any(isinstance(c, str) and "440101" in c for c in cells)
    assert name.startswith("成绩统计（按考点）")
    with session_scope(seed.engine) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.entity == "成绩统计", AuditLog.action == "export"))
    # a site admin sees only its own site; stats are not limited by windows
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).values(start_at=None, end_at=None))
    with session_scope(seed.engine) as s:
        own = scores.score_stats(s, A["site110001"], "site")
    assert [r[0] for r in own.body] == ["(110001)北京理工大学考点"]
    assert own.total["人次"] == expected[SITE]["人次"]


# ---------------------------------------------------------------- the demo file
def test_demo_score_csv_imports_cleanly(seed, A):
    numbered_site(seed, 6)
    regs = regs_of(seed)
    add_violation(seed, regs[3], "违纪", "11")
    with session_scope(seed.engine) as s:
        data = scores.demo_score_csv(s, seed.info["current_term"], seed.orgs[SITE])
    res = sp.import_score_file(seed.engine, A["site110001"], data, "成绩.csv", dry_run=False)
    assert res.committed and res.ok, errors(res)[:5]
    assert res.written == 12
    assert score_map(seed)[regs[3]["ticket"]][1] == "违纪"


def test_demo_file_with_invented_flags_fills_the_violation_table(seed, A):
    numbered_site(seed, 40, subjects=("14",), born="19950101")
    with session_scope(seed.engine) as s:
        data = scores.demo_score_csv(s, seed.info["current_term"], seed.orgs[SITE], seed=3, invent_flags=True,
                                     encoding="utf-8-sig")
    flagged = sum(1 for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if row[5] and row[5] != "违规标记")
    assert flagged > 0
    res = sp.import_score_file(seed.engine, A["site110001"], data, "成绩.csv")  # dry run, checks on
    assert not res.ok and {e.column for e in res.errors} == {"违规标记"}
    res = sp.import_score_file(seed.engine, A["site110001"], data, "成绩.csv", check_violation=False, dry_run=False)
    assert res.committed and res.summary["violations"] == (flagged, 0, 0)
    assert len(violations(seed)) == flagged
    assert sp.import_score_file(seed.engine, A["site110001"], data, "成绩.csv", dry_run=False).committed
