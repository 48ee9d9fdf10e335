"""成绩信息导入 (001 §40) and 证书直邮信息导入 (001 §41): CSV files on THE import engine.

The score file (CSV only, §40.1; UTF-8 with or without BOM, or GBK — detected by core.imports.readers),
one row per 报考, first row the column names (a 序号 column is ignored):

    准考证号  必填  the 报考's ticket number at this site in the current 考次
    姓名      必填  checked against the 报名信息 (see 校验姓名和证件号)
    证件号码  必填  idem
    科目代码  必填  must be the subject of that 报考 (e.g. 14)
    成绩      0–100 整数; empty only with a 违规标记 (缺考 must be empty)
    违规标记  empty, or 缺考 / 违纪 / 作弊 / 其他违规
    证书编号  optional; only for a pass (成绩 ≥ 60) without a 违规标记

Options (the page's check boxes, `options` of run_import):
- check_violation 校验违规不一致 (default on): a row whose 违规标记 differs from the 违规信息 of that 报考
  (《违规管理》, core.models.postexam.Violation; none = 无违规) is an error naming both values. Off: the file
  is authoritative — after the scores are written, every flagged row is upserted into the Violation table
  (source "score", the category's general code 01/11/21/99; an existing violation of the same category keeps
  its finer code) and an unflagged row removes the 报考's existing violation.
- check_unknown 校验无准考证号信息数据 (default on): a 准考证号 that is not a 报考 of this site in this 考次 is an
  error. Off: such rows are skipped (counted and listed in the result, not written, not errors).
- check_identity 校验姓名和证件号 (default on, §40.4): a row whose 姓名 or 证件号码 differs from the 报名信息 is an
  error naming both values; the page then asks the administrator to confirm and re-import with the check off.
  Off: the file's 姓名 and 证件号码 replace the 报名信息's (Enrollment) and the 考生's (Candidate), audited with
  before/after. A 证件号码 that belongs to another candidate, an invalid 居民身份证号码, or one candidate given
  different 姓名/证件号码 on two rows of the file is an error.
Duplicate 准考证号 in the file is an error. Re-importing replaces the score of a 报考 (upsert by 报考).
All or nothing: any error fails the whole file (§20.5 house rule). Only the site's own 考点管理员, in the
current 考次; §9 does not put imports under an operation window (only the downloads, 考后资料下载时间).

The commit is set-based: one SELECT per table for the look-ups, one executemany INSERT for the new scores,
one bulk UPDATE (core.db.update_by_id) for the replaced ones.

证书直邮信息 (§41), CSV only: 准考证号, 姓名 (must match the 报名信息), 收件人, 联系电话 (mobile), 邮寄地址,
邮政编码 (6 digits, optional). An unknown 准考证号 is an error; a 报考's mailing address is replaced on re-import.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.codes import ID_CARD
from core.db import update_by_id
from core.errors import NotFound, PermissionDenied
from core.exports.tabular import write_csv
from core.imports.engine import (
    ALL_OR_NOTHING, ImportColumn, ImportContext, ImportResult, ImportRow, ImportSpec, parse_id_number, parse_int,
    parse_phone, run_import,
)
from core.imports.readers import ImportFileError
from core.models import Candidate, CandidatePhoto, Enrollment, Registration, Subject
from core.models.postexam import PASS_SCORE, VIOLATION_KINDS, CertMailing, Score, Violation
from core.services.base import audit, require_writable_term

GENERAL_CODES = {"缺考": "01", "违纪": "11", "作弊": "21", "其他违规": "99"}
NONE_LABEL = "无违规"
IDENTITY_MISMATCH = "与系统报名信息不一致"
CHECK_VIOLATION_LABEL = "校验违规不一致"
CHECK_UNKNOWN_LABEL = "校验无准考证号信息数据"
CHECK_IDENTITY_LABEL = "校验姓名和证件号"
OPTION_DEFAULTS = {"check_violation": True, "check_unknown": True, "check_identity": True}
SKIPPED_SHOWN = 20


# ---------------------------------------------------------------- cell parsers
def _squeeze(text: Any) -> str:
    """Full-width to half-width (NFKC), every space removed. ASCII text (the usual case) takes a fast path."""
    text = str(text)
    if text.isascii():
        return text if text.isalnum() else "".join(text.split())
    return re.sub(r"[\s\u3000\u00a0]+", "", unicodedata.normalize("NFKC", text))


def _ticket(text: str) -> str:
    t = _squeeze(text).upper()
    if not re.fullmatch(r"[0-9A-Z]{1,30}", t):
        raise ValueError(f"准考证号“{text}”格式不正确，只能是数字或字母（不超过 30 位）")
    return t


def _id_text(text: str) -> str:
    return _squeeze(text).upper()


def _code(text: str) -> str:
    t = _squeeze(text)
    if not re.fullmatch(r"[0-9A-Za-z]{1,10}", t):
        raise ValueError(f"科目代码“{text}”格式不正确")
    return t


def _name(text: str) -> str:
    """Full-width letters/digits to half-width, runs of spaces to one."""
    text = str(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


def _postcode(text: str) -> str:
    t = _squeeze(text)
    if not re.fullmatch(r"\d{6}", t):
        raise ValueError(f"邮政编码“{text}”应为 6 位数字")
    return t


def _csv_only(data: bytes, filename: str) -> tuple[bytes, str]:
    """§40.1 / §41: the import reads .csv files only."""
    if not (filename or "").lower().endswith(".csv"):
        raise ImportFileError("成绩管理的导入只接受 .csv 文件（逗号分隔，UTF-8 或 GBK 编码）；"
                              "Excel 文件请先“另存为 CSV”再导入。")
    return data, filename


# ---------------------------------------------------------------- shared look-ups
def _site(ctx: ImportContext, what: str):
    """The site being imported into: the actor's own site, as its 考点管理员, in the current 考次."""
    actor, s = ctx.actor, ctx.session
    site_id = int(ctx.options.get("site_id") or actor.org_id)
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    if actor.role != "site_admin" or actor.org_id != site.id:
        raise PermissionDenied(f"{what}由考点管理员在本考点导入，上级机构只能查看。")
    require_writable_term(actor)
    ctx.options["site_id"] = site.id
    ctx.cache["site"] = site
    return site


def _registrations(s: Session, term_id: int, site_id: int) -> dict[str, tuple]:
    """准考证号 -> (registration id, subject id, subject code, enrollment id, candidate id, 姓名, 证件号码, 证件类型)
    of every numbered 报考 of the site in the 考次 (one query)."""
    q = (select(Registration.ticket_no, Registration.id, Registration.subject_id, Subject.code,
                Registration.enrollment_id, Registration.candidate_id,
                func.coalesce(Enrollment.name, Candidate.name),
                func.coalesce(Enrollment.id_number, Candidate.id_number),
                func.coalesce(Enrollment.id_type, Candidate.id_type))
         .join(Subject, Subject.id == Registration.subject_id)
         .join(Candidate, Candidate.id == Registration.candidate_id)
         .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
         .where(Registration.term_id == term_id, Registration.site_id == site_id,
                Registration.ticket_no.is_not(None)))
    return {r[0].upper(): tuple(r[1:]) for r in s.execute(q)}


def _chunks(items: list, size: int = 900) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------- 成绩信息导入 hooks
SCORE_COLUMNS = [
    ImportColumn("ticket_no", "准考证号", required=True, parsers=_ticket, example="1470110001010101", width=20,
                 hint="本考点本考次的准考证号"),
    ImportColumn("name", "姓名", required=True, max_length=50, parsers=_name, example="张三"),
    ImportColumn("id_number", "证件号码", required=True, max_length=40, parsers=_id_text, example="11010120000101005X",
                 width=22, hint="文本格式；身份证末位 X 大写"),
    ImportColumn("subject_code", "科目代码", required=True, parsers=_code, example="14", width=10),
    ImportColumn("score", "成绩", parsers=parse_int(0, 100), example="86", width=8,
                 hint="0–100 的整数；缺考留空"),
    ImportColumn("flag", "违规标记", choices=VIOLATION_KINDS, example="", width=10,
                 hint="无违规留空；否则填 缺考、违纪、作弊 或 其他违规"),
    ImportColumn("cert_no", "证书编号", max_length=30, parsers=_id_text, example="2614110001000001", width=20,
                 hint="可空；只用于成绩及格（60 分及以上）且无违规的考生"),
]


def _score_before(ctx: ImportContext) -> None:
    _site(ctx, "成绩信息导入")
    for k, default in OPTION_DEFAULTS.items():
        ctx.options[k] = bool(ctx.options.get(k, default))


def _score_prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    s, site = ctx.session, ctx.cache["site"]
    tid = ctx.actor.term_id
    regs = _registrations(s, tid, site.id)
    ctx.cache["regs"] = regs
    ctx.cache["violations"] = dict(s.execute(select(Violation.registration_id, Violation.kind).where(
        Violation.term_id == tid, Violation.site_id == site.id)).all())
    owners: dict[str, tuple[int, str]] = {}
    if not ctx.options["check_identity"]:
        # 证件号码 the file gives instead of the system's: who owns them already (one query per 900)
        wanted = sorted({r.values["id_number"] for r in rows
                         if r.values.get("id_number") and r.values.get("ticket_no") in regs
                         and r.values["id_number"] != (regs[r.values["ticket_no"]][5] or "").upper()})
        for part in _chunks(wanted):
            for cid, idn, name in s.execute(select(Candidate.id, Candidate.id_number, Candidate.name)
                                            .where(Candidate.id_number.in_(part))):
                owners[idn.upper()] = (cid, name)
            for cid, idn, name in s.execute(select(Enrollment.candidate_id, Enrollment.id_number, Enrollment.name)
                                            .where(Enrollment.term_id == tid, Enrollment.id_number.in_(part))):
                owners.setdefault(idn.upper(), (cid, name))
    ctx.cache["owners"] = owners


def _score_validate(ctx: ImportContext, row: ImportRow) -> Iterable[tuple[str | None, str]]:
    v, opts, c = row.values, ctx.options, ctx.cache
    ticket = v.get("ticket_no")
    if not ticket:
        return
    reg = c["regs"].get(ticket)
    if reg is None:
        if opts["check_unknown"]:
            yield "ticket_no", (f"本考点本考次没有准考证号为“{ticket}”的报考信息；如确认要跳过这类数据，"
                                f"请取消勾选“{CHECK_UNKNOWN_LABEL}”后重新导入")
        else:
            v["_skip"] = True
        return
    rid, sid, code, eid, cid, sys_name, sys_id, id_type = reg
    v["_reg"] = reg
    if v.get("subject_code") and v["subject_code"] != code:
        yield "subject_code", f"与该准考证号的报考科目（{code}）不一致"
    score, flag = v.get("score"), v.get("flag") or ""
    if "score" not in row.failed and "flag" not in row.failed:
        if flag == "缺考" and score is not None:
            yield "score", "违规标记为缺考时成绩应为空"
        elif score is None and not flag:
            yield "score", "成绩为空时须在违规标记中填写违规类型（如缺考）"
        if v.get("cert_no") and (flag or score is None or score < PASS_SCORE):
            yield "cert_no", f"只有成绩及格（{PASS_SCORE} 分及以上）且无违规标记的考生才有证书编号"
    if opts["check_violation"] and "flag" not in row.failed:
        have = c["violations"].get(rid, "")
        if have != flag:
            yield "flag", (f"与违规信息不一致：成绩文件为“{flag or NONE_LABEL}”，系统违规信息为“{have or NONE_LABEL}”；"
                           f"以成绩文件为准时请取消勾选“{CHECK_VIOLATION_LABEL}”")
    name, idn = v.get("name"), v.get("id_number")
    sys_idn = (sys_id or "").upper()
    if opts["check_identity"]:
        if name and name != sys_name:
            yield "name", f"{IDENTITY_MISMATCH}：成绩文件为“{name}”，系统中为“{sys_name}”"
        if idn and idn != sys_idn:
            yield "id_number", f"{IDENTITY_MISMATCH}：成绩文件为“{idn}”，系统中为“{sys_id}”"
        return
    if not name or not idn or (name == sys_name and idn == sys_idn):
        return
    if idn != sys_idn:
        if id_type == ID_CARD:
            try:
                idn = v["id_number"] = parse_id_number(idn)
            except ValueError as e:
                yield "id_number", f"居民身份证号码无效：{e}"
                return
        owner = c["owners"].get(idn)
        if owner is not None and owner[0] != cid:
            yield "id_number", f"证件号码“{idn}”已属于另一名考生（{owner[1]}），不能改为此号码"
            return
    v["_identity"] = (eid, cid, sys_name, sys_id, name, idn)


def _score_check_all(ctx: ImportContext, rows: list[ImportRow]):
    """Identity updates across rows: one candidate gets one 姓名/证件号码; one new 证件号码 one candidate."""
    if ctx.options["check_identity"]:
        return
    per_candidate: dict[int, list[ImportRow]] = defaultdict(list)
    for r in rows:
        reg = r.values.get("_reg")
        if reg is not None:
            per_candidate[reg[4]].append(r)
    claimed: dict[str, list[tuple[int, ImportRow]]] = defaultdict(list)
    for cid, group in per_candidate.items():
        wanted = {(r.values["name"], r.values["id_number"]) for r in group}
        if len(wanted) > 1:
            lines = "、".join(str(r.line) for r in group)
            for r in group:
                yield r, "id_number", f"同一考生的多个科目（第 {lines} 行）姓名或证件号码不一致，请统一后再导入"
            continue
        if any(r.values.get("_identity") for r in group):
            claimed[group[0].values["id_number"]].append((cid, group[0]))
    for idn, owners in claimed.items():
        if len({cid for cid, _ in owners}) > 1:
            lines = "、".join(str(r.line) for _, r in owners)
            for _, r in owners:
                yield r, "id_number", f"证件号码“{idn}”在文件中被多名考生使用（第 {lines} 行）"


def _write_identity(s: Session, actor: Actor, site_id: int, rows: list[ImportRow]) -> int:
    """The file's 姓名/证件号码 replace the 报名信息's and the 考生's (check_identity off); one audit row."""
    changes: dict[int, tuple] = {}
    for r in rows:
        x = r.values.get("_identity")
        if x is not None:
            changes[x[1]] = x
    if not changes:
        return 0
    items = list(changes.values())
    now = datetime.now()  # microseconds: a re-import in the same second still changes generated.data_version
    cand_ids = [x[1] for x in items]
    update_by_id(s, Candidate.__table__, cand_ids, {"name": [x[4] for x in items], "id_number": [x[5] for x in items]},
                 updated_at=now)
    with_enroll = [x for x in items if x[0] is not None]
    update_by_id(s, Enrollment.__table__, [x[0] for x in with_enroll],
                 {"name": [x[4] for x in with_enroll], "id_number": [x[5] for x in with_enroll]}, updated_at=now)
    # the site's photo directory is keyed by 证件号码 (§23): follow the new number when it is free
    moved = [(x[3], x[5]) for x in items if (x[3] or "") != x[5]]
    if moved:
        tid = actor.term_id
        taken = set()
        for part in _chunks([new for _, new in moved]):
            taken |= set(s.scalars(select(CandidatePhoto.id_number).where(
                CandidatePhoto.term_id == tid, CandidatePhoto.site_id == site_id, CandidatePhoto.id_number.in_(part))))
        photo_ids, photo_new = [], []
        olds = {old: new for old, new in moved if new not in taken}
        for part in _chunks(list(olds)):
            for pid, old in s.execute(select(CandidatePhoto.id, CandidatePhoto.id_number).where(
                    CandidatePhoto.term_id == tid, CandidatePhoto.site_id == site_id,
                    CandidatePhoto.id_number.in_(part))):
                photo_ids.append(pid)
                photo_new.append(olds[old])
        update_by_id(s, CandidatePhoto.__table__, photo_ids, {"id_number": photo_new})
    audit(s, actor, "update", "报名信息", None, org_id=site_id,
          before={str(x[0] or f"c{x[1]}"): {"name": x[2], "id_number": x[3]} for x in items},
          after={str(x[0] or f"c{x[1]}"): {"name": x[4], "id_number": x[5]} for x in items},
          summary=f"成绩信息导入：以成绩文件为准更新 {len(items)} 名考生的姓名/证件号码")
    return len(items)


def _write_violations(s: Session, actor: Actor, site_id: int, rows: list[ImportRow]) -> tuple[int, int, int]:
    """check_violation off: the file's flags into the Violation table (added, changed, removed); one audit row."""
    tid = actor.term_id
    existing = {rid: (vid, kind, code) for vid, rid, kind, code in s.execute(
        select(Violation.id, Violation.registration_id, Violation.kind, Violation.code)
        .where(Violation.term_id == tid, Violation.site_id == site_id))}
    new, upd_ids, upd_kind, upd_code, gone = [], [], [], [], []
    before, after = {}, {}
    for r in rows:
        v = r.values
        rid, sid = v["_reg"][0], v["_reg"][1]
        flag = v.get("flag") or ""
        old = existing.get(rid)
        if flag and old is None:
            new.append({"term_id": tid, "site_id": site_id, "registration_id": rid, "subject_id": sid,
                        "ticket_no": v["ticket_no"], "kind": flag, "code": GENERAL_CODES[flag],
                        "remark": "成绩信息导入", "source": "score", "created_by": actor.user_id})
            after[v["ticket_no"]] = flag
        elif flag and old[1] != flag:
            upd_ids.append(old[0])
            upd_kind.append(flag)
            upd_code.append(GENERAL_CODES[flag])
            before[v["ticket_no"]], after[v["ticket_no"]] = old[1], flag
        elif not flag and old is not None:
            gone.append(old[0])
            before[v["ticket_no"]] = old[1]
    if new:
        s.execute(insert(Violation.__table__), new)
    update_by_id(s, Violation.__table__, upd_ids, {"kind": upd_kind, "code": upd_code}, source="score",
                 updated_at=datetime.now())
    for part in _chunks(gone):
        s.execute(delete(Violation).where(Violation.id.in_(part)))
    if new or upd_ids or gone:
        audit(s, actor, "update", "违规信息", None, org_id=site_id, before=before, after=after,
              summary=f"成绩信息导入（未校验违规不一致，以成绩文件为准）：违规信息新增 {len(new)} 条，"
                      f"修改 {len(upd_ids)} 条，删除 {len(gone)} 条")
    return len(new), len(upd_ids), len(gone)


def _score_commit(s: Session, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    site_id, tid = int(options["site_id"]), actor.term_id
    skipped = [r for r in rows if r.values.get("_skip")]
    live = [r for r in rows if not r.values.get("_skip")]
    people = 0 if options["check_identity"] else _write_identity(s, actor, site_id, live)
    now = datetime.now().replace(microsecond=0)
    existing = dict(s.execute(select(Score.registration_id, Score.id).where(Score.term_id == tid,
                                                                            Score.site_id == site_id)).all())
    inserts: list[dict[str, Any]] = []
    ids: list[int] = []
    cols: dict[str, list] = {"subject_id": [], "ticket_no": [], "score": [], "flag": [], "cert_no": []}
    for r in live:
        v = r.values
        rid, sid = v["_reg"][0], v["_reg"][1]
        rec = {"subject_id": sid, "ticket_no": v["ticket_no"], "score": v.get("score"), "flag": v.get("flag") or "",
               "cert_no": v.get("cert_no")}
        sc = existing.get(rid)
        if sc is None:
            inserts.append({"term_id": tid, "site_id": site_id, "registration_id": rid, "imported_at": now, **rec})
        else:
            ids.append(sc)
            for k, val in rec.items():
                cols[k].append(val)
    if inserts:
        s.execute(insert(Score.__table__), inserts)  # Core executemany (ORM bulk splits on NULLs)
    update_by_id(s, Score.__table__, ids, cols, imported_at=now, updated_at=datetime.now())
    added = changed = removed = 0
    if not options["check_violation"]:
        added, changed, removed = _write_violations(s, actor, site_id, live)
    msg = f"写入成绩 {len(live)} 条（新增 {len(inserts)}，覆盖 {len(ids)}）"
    if skipped:
        lines = "、".join(str(r.line) for r in skipped[:SKIPPED_SHOWN]) + ("…" if len(skipped) > SKIPPED_SHOWN else "")
        msg += f"；跳过无准考证号信息数据 {len(skipped)} 行（第 {lines} 行）"
    if people:
        msg += f"；以成绩文件为准更新了 {people} 名考生的姓名/证件号码"
    if not options["check_violation"]:
        msg += f"；违规信息新增 {added}、修改 {changed}、删除 {removed} 条"
    table = [{"项目": k, "数量": n} for k, n in (
        ("新增成绩", len(inserts)), ("覆盖成绩", len(ids)), ("跳过（无准考证号信息）", len(skipped)),
        ("更新姓名/证件号码的考生", people), ("违规信息新增", added), ("违规信息修改", changed),
        ("违规信息删除", removed))]
    downloads = []
    if skipped:
        downloads.append(("下载跳过的行", "跳过的无准考证号信息数据.csv", write_csv(
            ["行号", "准考证号", "姓名", "科目代码"],
            [(r.line, r.raw.get("ticket_no", ""), r.raw.get("name", ""), r.raw.get("subject_code", ""))
             for r in skipped])))
    return {"written": len(live), "message": msg, "table": table, "downloads": downloads, "skipped": len(skipped),
            "people": people, "violations": (added, changed, removed)}


SCORE_SPEC = ImportSpec(
    name="ncre_scores", title="成绩信息", sheet_name="成绩信息", columns=SCORE_COLUMNS, key_columns=("ticket_no",),
    commit=_score_commit, prepare=_score_prepare, validate_row=_score_validate, before_import=_score_before,
    check_all=_score_check_all, reader=_csv_only, upload_types=("csv",), upload_label=".csv（UTF-8 或 GBK 编码）",
    modes=(ALL_OR_NOTHING,), entity="成绩信息", max_rows=200_000,
    examples=({"ticket_no": "1470110001010101", "name": "张三", "id_number": "11010120000101005X",
               "subject_code": "14", "score": "86", "flag": "", "cert_no": "2614110001000001"},
              {"ticket_no": "1470110001010102", "name": "李四", "id_number": "110101200001020068",
               "subject_code": "14", "score": "", "flag": "缺考", "cert_no": ""}),
    notes=("导入文件为 .csv（逗号分隔，UTF-8 或 GBK 编码均可），第一行为列名：准考证号、姓名、证件号码、科目代码、成绩、"
           "违规标记、证书编号；每个报考科目一行。",
           "成绩为 0–100 的整数；缺考的成绩留空并在违规标记中填“缺考”；违规标记为空表示无违规，"
           "否则填 缺考、违纪、作弊 或 其他违规。证书编号可空，只用于成绩及格且无违规的考生。",
           f"{CHECK_VIOLATION_LABEL}：勾选时，违规标记与《违规管理》中的违规信息不一致的行报错；不勾选时不校验，"
           "而是以成绩文件为准更新违规信息（有标记的新增或修改为该类违规，无标记的删除已有违规）。",
           f"{CHECK_UNKNOWN_LABEL}：勾选时，本考点本考次不存在的准考证号报错；不勾选时跳过这些行（导入结果中列出）。",
           f"{CHECK_IDENTITY_LABEL}（默认勾选）：勾选时，姓名或证件号码与系统报名信息不一致的行报错；确认以成绩文件为准后，"
           "取消勾选再次导入，系统中的姓名和证件号码将按成绩文件更新。",
           "准考证号在文件中不能重复；再次导入会覆盖已导入的成绩。任何一行有错误则整个文件都不导入。"),
)


# ---------------------------------------------------------------- 证书直邮信息导入 (§41)
MAILING_COLUMNS = [
    ImportColumn("ticket_no", "准考证号", required=True, parsers=_ticket, example="1470110001010101", width=20),
    ImportColumn("name", "姓名", required=True, max_length=50, parsers=_name, example="张三"),
    ImportColumn("recipient", "收件人", required=True, max_length=50, parsers=_name, example="张三"),
    ImportColumn("phone", "联系电话", required=True, parsers=parse_phone, example="13800138000", width=14,
                 hint="11 位手机号码"),
    ImportColumn("address", "邮寄地址", required=True, max_length=200, parsers=_name,
                 example="北京市海淀区中关村南大街5号", width=40),
    ImportColumn("postcode", "邮政编码", parsers=_postcode, example="100081", width=10, hint="6 位数字"),
]


def _mailing_before(ctx: ImportContext) -> None:
    _site(ctx, "证书直邮信息导入")


def _mailing_prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    ctx.cache["regs"] = _registrations(ctx.session, ctx.actor.term_id, ctx.cache["site"].id)


def _mailing_validate(ctx: ImportContext, row: ImportRow) -> Iterable[tuple[str | None, str]]:
    v = row.values
    ticket = v.get("ticket_no")
    if not ticket:
        return
    reg = ctx.cache["regs"].get(ticket)
    if reg is None:
        yield "ticket_no", f"本考点本考次没有准考证号为“{ticket}”的报考信息"
        return
    v["_reg"] = reg
    if v.get("name") and v["name"] != reg[5]:
        yield "name", f"与该准考证号的考生姓名不一致：文件为“{v['name']}”，系统中为“{reg[5]}”"


def _mailing_commit(s: Session, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    site_id, tid = int(options["site_id"]), actor.term_id
    existing = dict(s.execute(select(CertMailing.registration_id, CertMailing.id).where(
        CertMailing.term_id == tid, CertMailing.site_id == site_id)).all())
    inserts, ids = [], []
    cols: dict[str, list] = {"ticket_no": [], "recipient": [], "phone": [], "address": [], "postcode": []}
    for r in rows:
        v = r.values
        rec = {k: v.get(k) for k in cols}
        mid = existing.get(v["_reg"][0])
        if mid is None:
            inserts.append({"term_id": tid, "site_id": site_id, "registration_id": v["_reg"][0], **rec})
        else:
            ids.append(mid)
            for k, val in rec.items():
                cols[k].append(val)
    if inserts:
        s.execute(insert(CertMailing.__table__), inserts)
    update_by_id(s, CertMailing.__table__, ids, cols, updated_at=datetime.now())
    return {"written": len(rows), "message": f"写入证书直邮信息 {len(rows)} 条（新增 {len(inserts)}，覆盖 {len(ids)}）",
            "table": [{"项目": "新增", "数量": len(inserts)}, {"项目": "覆盖", "数量": len(ids)}]}


MAILING_SPEC = ImportSpec(
    name="ncre_cert_mailing", title="证书直邮信息", sheet_name="证书直邮信息", columns=MAILING_COLUMNS,
    key_columns=("ticket_no",), commit=_mailing_commit, prepare=_mailing_prepare, validate_row=_mailing_validate,
    before_import=_mailing_before, reader=_csv_only, upload_types=("csv",), upload_label=".csv（UTF-8 或 GBK 编码）",
    modes=(ALL_OR_NOTHING,), entity="证书直邮信息", max_rows=200_000,
    notes=("导入文件为 .csv（逗号分隔，UTF-8 或 GBK 编码均可），第一行为列名：准考证号、姓名、收件人、联系电话、"
           "邮寄地址、邮政编码；每个报考科目一行。",
           "准考证号必须是本考点本考次的报考，姓名须与报名信息一致；联系电话为 11 位手机号码，邮政编码为 6 位数字（可空）。",
           "准考证号在文件中不能重复；再次导入会覆盖该报考已有的证书直邮信息。任何一行有错误则整个文件都不导入。"),
)


# ---------------------------------------------------------------- entry points (page and CLI)
def import_score_file(db: Engine | Session, actor: Actor, data: bytes, filename: str, site_id: int | None = None, *,
                      check_violation: bool = True, check_unknown: bool = True, check_identity: bool = True,
                      dry_run: bool = True, progress=None) -> ImportResult:
    """成绩信息导入 (the page's and the CLI's entry point). `dry_run` checks only."""
    result = run_import(db, SCORE_SPEC, actor, data, filename, dry_run=dry_run, progress=progress,
                        options={"site_id": site_id or actor.org_id, "check_violation": check_violation,
                                 "check_unknown": check_unknown, "check_identity": check_identity})
    if result.committed and result.written >= 1000:
        from core.db import analyze
        analyze(db, ("score", "violation"))
    return result


def import_cert_mailing_file(db: Engine | Session, actor: Actor, data: bytes, filename: str,
                             site_id: int | None = None, *, dry_run: bool = True, progress=None) -> ImportResult:
    """证书直邮信息导入 (the page's and the CLI's entry point)."""
    return run_import(db, MAILING_SPEC, actor, data, filename, dry_run=dry_run, progress=progress,
                      options={"site_id": site_id or actor.org_id})


def identity_mismatches(result: ImportResult | None) -> int:
    """How many rows of a checked score file have a 姓名/证件号码 different from the 报名信息 (the page's prompt
    to confirm and re-import with 校验姓名和证件号 off)."""
    if result is None:
        return 0
    return len({e.row for e in result.errors if e.message.startswith(IDENTITY_MISMATCH)})
