"""学生与统考成绩导入 (OCES 000): a 学习中心 loads its students and their 统考英语 results.

Rules:
  - the 学习中心管理员 imports for its own centre (the 考试中心管理员 for a centre it picks);
  - 院校 is a 码表 column (code or name); 学号 is unique per 院校; one row per 学生 × 科目;
  - a student already loaded by ANOTHER 学习中心 is an error (a centre never overwrites another's students);
    one already at this centre is updated (its personal data and the result of that 科目);
  - 合格状态 合格 / 免考 / 不合格; 合格批次 (yyyymm) only for 合格 / 免考;
  - modes: 全部成功才导入 (default) or 只导入正确行. One transaction, one audit row (the engine's).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.errors import PermissionDenied, ValidationError
from core.imports.engine import (
    ALL_OR_NOTHING, ONLY_VALID, ImportColumn, ImportContext, ImportRow, ImportSpec, parse_id_number, parse_phone,
)
from core.models import Org
from core.models.oces import OcesExamResult, OcesStudent
from core.services import oces

SHEET = "学生统考成绩"
GENDERS = ("男", "女")
STUDENT_FIELDS = ("name", "gender", "ethnicity", "birth", "id_number", "enrol_batch", "status_batch", "level",
                  "major", "phone", "mobile")


def _institutions(ctx: ImportContext) -> dict[str, str]:
    rows = ctx.session.execute(select(Org.code, Org.name).where(Org.kind == "institution").order_by(Org.code))
    return {code: name for code, name in rows}


def _yymm(text: str) -> str:
    """入学批次: 1609 (yymm) or 201609 (yyyymm) → 1609."""
    t = unicodedata.normalize("NFKC", str(text)).strip()
    if re.fullmatch(r"(19|20)\d{4}", t):
        t = t[2:]
    if not re.fullmatch(r"\d{2}(0[1-9]|1[0-2])", t):
        raise ValueError(f"入学批次“{text}”格式不正确，应为 4 位年月（如 1609）或 6 位年月（如 201609）")
    return t


def _birth(text: str) -> str:
    """出生年月: 1985-12, 1985/12, 198512, 1985年12月 (a date keeps its month) → 1985-12."""
    t = unicodedata.normalize("NFKC", str(text)).strip()
    m = re.fullmatch(r"(\d{4})[-/.年]?(\d{1,2})(?:月|[-/.]\d{1,2}日?(?: 00:00:00)?)?", t)
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= datetime.now().year:
        raise ValueError(f"出生年月“{text}”格式不正确，应为 1985-12 这样的格式")
    return f"{m.group(1)}-{int(m.group(2)):02d}"


def _id(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text)).strip().upper()
    return parse_id_number(t) if len(t) == 18 and t[:17].isdigit() else t


def _pass_batch(text: str) -> str:
    try:
        return oces.check_pass_batch(text)
    except ValidationError as e:
        raise ValueError(e.message) from None


def _score(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text)).strip()
    if not re.fullmatch(r"\d{1,3}(\.\d)?", t) or float(t) > 100:
        raise ValueError(f"统考成绩“{text}”应为 0–100 的数字")
    return t


def _before(ctx: ImportContext) -> None:
    actor = ctx.actor
    if actor.role == "centre_admin" and actor.org_kind == "learning_center":
        ctx.options["centre_id"] = actor.org_id
        return
    if actor.role == "center_admin" and ctx.options.get("centre_id"):
        centre = get_scoped_org(ctx.session, actor, int(ctx.options["centre_id"]))
        if centre.kind != "learning_center":
            raise PermissionDenied("请选择学习中心。")
        return
    raise PermissionDenied("学生与统考成绩由学习中心管理员导入（考试中心管理员须先选择学习中心）。")


def _prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    s = ctx.session
    inst_ids = {code: i for i, code in s.execute(select(Org.id, Org.code).where(Org.kind == "institution"))}
    ctx.cache["inst_ids"] = inst_ids
    keys = {(inst_ids.get(r.values.get("institution")), r.values.get("student_no")) for r in rows}
    nos = sorted({no for _i, no in keys if no})
    existing: dict[tuple[int, str], Any] = {}
    for i in range(0, len(nos), 900):
        for r in s.execute(select(OcesStudent.id, OcesStudent.institution_id, OcesStudent.student_no,
                                  OcesStudent.centre_id, OcesStudent.name, Org.name.label("centre"))
                           .join(Org, Org.id == OcesStudent.centre_id)
                           .where(OcesStudent.student_no.in_(nos[i:i + 900]))):
            existing[(r.institution_id, r.student_no)] = r
    ctx.cache["existing"] = existing


def _validate(ctx: ImportContext, row: ImportRow):
    v = row.values
    inst_id = ctx.cache["inst_ids"].get(v.get("institution"))
    v["_institution_id"] = inst_id
    v["_student_id"] = None
    if inst_id and v.get("student_no"):
        old = ctx.cache["existing"].get((inst_id, v["student_no"]))
        if old is not None:
            if old.centre_id != ctx.options["centre_id"]:
                yield ("student_no", f"该学号在本院校已由其他学习中心（{old.centre}）导入，不能由本学习中心导入或修改")
            else:
                v["_student_id"] = old.id
    if v.get("status") == "failed" and v.get("pass_batch"):
        yield ("pass_batch", "合格状态为“不合格”时不能填写合格批次")
    if v.get("status") == "passed" and not v.get("score"):
        yield ("score", "合格状态为“合格”时须填写统考成绩")


def _check_all(ctx: ImportContext, rows: list[ImportRow]):
    first: dict[tuple, ImportRow] = {}
    for r in rows:
        k = (r.values.get("institution"), r.values.get("student_no"))
        f = first.setdefault(k, r)
        if f is not r and f.values.get("name") != r.values.get("name"):
            yield (r, "name", f"同一学生（学号 {k[1]}）在第 {f.line} 行的姓名是“{f.values.get('name')}”，两行不一致")


def _commit(s: Session, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    centre_id = options["centre_id"]
    students: dict[tuple[int, str], dict] = {}
    for r in rows:
        v = r.values
        students[(v["_institution_id"], v["student_no"])] = {
            **{k: v.get(k) for k in STUDENT_FIELDS}, "_id": v.get("_student_id")}
    new = [dict(centre_id=centre_id, institution_id=i, student_no=no, **{k: d[k] for k in STUDENT_FIELDS})
           for (i, no), d in students.items() if d["_id"] is None]
    ids = {(i, no): d["_id"] for (i, no), d in students.items() if d["_id"] is not None}
    if new:
        for sid, i, no in s.execute(insert(OcesStudent).returning(OcesStudent.id, OcesStudent.institution_id,
                                                                  OcesStudent.student_no), new):
            ids[(i, no)] = sid
    upd = [dict(b_id=d["_id"], **{k: d[k] for k in STUDENT_FIELDS}) for d in students.values() if d["_id"]]
    if upd:
        t = OcesStudent.__table__
        s.connection().execute(update(t).where(t.c.id == bindparam("b_id"))
                               .values(**{k: bindparam(k) for k in STUDENT_FIELDS}), upd)
    # results: one per (student, subject); update the existing ones
    sids = list(set(ids.values()))
    have: dict[tuple[int, str], int] = {}
    for i in range(0, len(sids), 900):
        for rid, sid, subj in s.execute(select(OcesExamResult.id, OcesExamResult.student_id, OcesExamResult.subject)
                                        .where(OcesExamResult.student_id.in_(sids[i:i + 900]))):
            have[(sid, subj)] = rid
    res_new, res_upd = [], []
    for r in rows:
        v = r.values
        sid = ids[(v["_institution_id"], v["student_no"])]
        vals = dict(score=v.get("score"), status=v["status"], pass_batch=v.get("pass_batch"))
        if (sid, v["subject"]) in have:
            res_upd.append(dict(b_id=have[(sid, v["subject"])], **vals))
        else:
            res_new.append(dict(student_id=sid, subject=v["subject"], **vals))
    if res_new:
        s.execute(insert(OcesExamResult), res_new)
    if res_upd:
        t = OcesExamResult.__table__
        s.connection().execute(update(t).where(t.c.id == bindparam("b_id"))
                               .values(score=bindparam("score"), status=bindparam("status"),
                                       pass_batch=bindparam("pass_batch")), res_upd)
    return {"written": len(rows), "message": f"新增学生 {len(new)} 名，更新学生 {len(upd)} 名；"
                                             f"新增统考成绩 {len(res_new)} 条，更新 {len(res_upd)} 条。"}


OCES_COLUMNS = [
    ImportColumn("institution", "院校", required=True, choices=_institutions, example="北京大学", width=18,
                 hint="院校代码或名称，见码表"),
    ImportColumn("student_no", "学号", required=True, max_length=40, example="121609000001",
                 hint="在本院校内唯一；请设为文本格式"),
    ImportColumn("name", "姓名", required=True, max_length=50, example="董明"),
    ImportColumn("gender", "性别", choices=GENDERS, example="男", width=8),
    ImportColumn("ethnicity", "民族", max_length=20, example="汉族", width=10),
    ImportColumn("birth", "出生年月", parsers=_birth, example="1985-12", width=12),
    ImportColumn("id_number", "证件号码", max_length=40, parsers=_id, example="11010519491231002X", width=22,
                 hint="18 位居民身份证号码会检查校验位；请设为文本格式"),
    ImportColumn("enrol_batch", "入学批次", required=True, parsers=_yymm, example="1609", width=10,
                 hint="4 位年月，如 1609（也可填 201609）"),
    ImportColumn("status_batch", "学籍批次", max_length=60, example="2016年秋季招生", width=18),
    ImportColumn("level", "层次", required=True, choices=oces.LEVELS, example="专升本", width=10),
    ImportColumn("major", "专业", required=True, max_length=100, example="金融学", width=18),
    ImportColumn("phone", "联系电话", max_length=30, example="010-62750000", width=16),
    ImportColumn("mobile", "手机", parsers=parse_phone, example="13900000001", width=14),
    ImportColumn("subject", "科目", required=True, choices=oces.ENGLISH_SUBJECTS, example="大学英语B", width=12),
    ImportColumn("score", "统考成绩", parsers=_score, example="75", width=10),
    ImportColumn("status", "合格状态", required=True, choices=oces.RESULT_STATUS, example="合格", width=10),
    ImportColumn("pass_batch", "合格批次", parsers=_pass_batch, example="201704", width=10,
                 hint="成绩合格或免考通过的统考批次，6 位年月，如 201704"),
]

OCES_STUDENT_SPEC = ImportSpec(
    name="oces_students",
    title="学生与统考成绩导入",
    sheet_name=SHEET,
    columns=OCES_COLUMNS,
    key_columns=("institution", "student_no", "subject"),
    modes=(ALL_OR_NOTHING, ONLY_VALID),
    before_import=_before,
    prepare=_prepare,
    validate_row=_validate,
    check_all=_check_all,
    commit=_commit,
    entity="学生统考成绩",
    examples=[
        {"institution": "北京大学", "student_no": "121609000001", "name": "董明", "gender": "男", "ethnicity": "汉族",
         "birth": "1985-12", "id_number": "11010519491231002X", "enrol_batch": "1609", "status_batch": "2016年秋季招生",
         "level": "专升本", "major": "金融学", "phone": "010-62750000", "mobile": "13900000001",
         "subject": "大学英语B", "score": "75", "status": "合格", "pass_batch": "201704"},
        {"institution": "南开大学", "student_no": "121703000002", "name": "李芳", "gender": "女", "ethnicity": "回族",
         "birth": "1990-03", "id_number": "", "enrol_batch": "1703", "status_batch": "", "level": "高起专",
         "major": "会计学", "phone": "", "mobile": "", "subject": "大学英语B", "score": "", "status": "免考",
         "pass_batch": "201906"},
    ],
    notes=[
        "每行是一名学生的一个统考科目；同一学生有多个科目时写多行，姓名须一致。",
        "院校填写代码或名称（见“码表”工作表）；学号在院校内唯一。",
        "已由本学习中心导入的学生会被更新（个人信息和该科目的统考成绩）；已由其他学习中心导入的学生不能导入。",
        "统考英语重考申请只列出合格状态为“合格”或“免考”的学生。",
    ],
)


def import_oces_file(db, actor: Actor, data: bytes, filename: str, centre_id: int | None = None,
                     mode: str = ALL_OR_NOTHING, dry_run: bool = True):
    """学生与统考成绩导入 of one file (tests and scripts)."""
    from core.imports.engine import run_import

    return run_import(db, OCES_STUDENT_SPEC, actor, data, filename, mode=mode, dry_run=dry_run,
                      options={"centre_id": centre_id})
