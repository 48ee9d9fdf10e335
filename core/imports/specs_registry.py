"""学籍数据导入 (001 §20): the ImportSpec and the CLI entry point.

Rules (the manual, and the decisions noted in core.services.registry):
  - only the data sheet “学籍信息模板” is read; the 样例 and 码表 sheets never are; a 序号 column is ignored.
  - the 证件号码 is the key: it may appear once per file; 居民身份证 numbers are checked (GB 11643) and
    normalised (full width, spaces, lower-case x); other types by core.codes.normalise_other_id.
  - 证件类型 empty -> 居民身份证; for a 居民身份证 the 性别/出生日期 are derived when empty and must match.
  - an existing 学籍 at the importing site: an error unless 覆盖 is ticked (then it is overwritten with
    the file's values; an empty cell clears the field);
  - an existing 学籍 at another site: overwritten (it moves to the importing site), unless the file's
    文化程度 is lower than the existing one (an error naming that site and its 文化程度).
  - all or nothing: any error fails the whole file (§20.5.1, §20.8).
  - only the site's own administrator, inside its 报名资格管理时间, in the current 考次.

The commit is set-based (one executemany INSERT for the new records, one executemany UPDATE for the
overwritten ones): 100k rows in a few seconds on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from sqlalchemy import String, any_, bindparam, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.auth import Actor
from core.codes import EDUCATION_LEVELS, GENDERS, ID_CARD, ID_TYPES
from core.errors import PermissionDenied
from core.imports.engine import (
    ALL_OR_NOTHING, ImportColumn, ImportContext, ImportResult, ImportRow, ImportSpec, parse_date, parse_int,
    parse_phone, run_import,
)
from core.models import Org, RegistryRecord
from core.services import registry as reg

SHEET = "学籍信息模板"
OVERWRITE_LABEL = "覆盖同一考点同一个证件号学籍数据"
_UPDATE_FIELDS = tuple(f for f in reg.FIELDS if f != "id_number")


def _before(ctx: ImportContext) -> None:
    """Role, scope, 考次 and window: the site's own administrator inside its 报名资格管理时间."""
    actor = ctx.actor
    site_id = ctx.options.get("site_id") or actor.org_id
    if actor.role != "site_admin":
        raise PermissionDenied("学籍数据由考点管理员在本考点报名资格管理时间内导入，上级机构只能查看。")
    site = reg.require_site_writer(ctx.session, actor, int(site_id))
    ctx.options["site_id"] = site.id
    ctx.options["overwrite"] = bool(ctx.options.get("overwrite"))
    ctx.cache["site"] = site


def _prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    """Check each 证件号码 by its 证件类型, derive/check 性别 and 出生日期, then ONE bulk look-up of the
    existing 学籍 (see `_existing`)."""
    problems: dict[int, list[tuple[str | None, str]]] = {}
    for row in rows:
        v = row.values
        errs: list[tuple[str | None, str]] = []
        if "id_type" not in row.failed and not v.get("id_type"):
            v["id_type"] = ID_CARD
        raw = v.get("id_number")
        if raw and "id_type" not in row.failed:
            try:
                v["id_number"] = reg.normalise_id(v["id_type"], raw)
            except ValueError as e:
                errs.append(("id_number", str(e)))
                v["id_number"] = None
        elif raw:
            v["id_number"] = None  # unknown type: cannot check the number; the type's error is reported
        if v.get("id_number"):
            g, b, mismatch = reg.check_against_id(v["id_type"], v["id_number"],
                                                  v.get("gender"), v.get("birth_date"))
            if "gender" not in row.failed:
                v["gender"] = g
            if "birth_date" not in row.failed:
                v["birth_date"] = b
            errs += mismatch
        if errs:
            problems[row.line] = errs
    ctx.cache["problems"] = problems

    numbers = sorted({r.values["id_number"] for r in rows if r.values.get("id_number")})
    ctx.cache["existing"] = {r.id_number: r for r in _existing(ctx.session, numbers)}


def _existing(s: Session, numbers: list[str]):
    """The 学籍 of these numbers with their site: one query with an array on PostgreSQL, IN lists of
    900 on SQLite (its bound-parameter limit)."""
    q = (select(RegistryRecord.id, RegistryRecord.id_number, RegistryRecord.site_id, RegistryRecord.name,
                RegistryRecord.education, Org.code, Org.name.label("site_name"))
         .join(Org, Org.id == RegistryRecord.site_id))
    if not numbers:
        return
    if s.get_bind().dialect.name == "postgresql":
        yield from s.execute(q.where(RegistryRecord.id_number == any_(
            bindparam("numbers", numbers, type_=postgresql.ARRAY(String)))))
        return
    for part in reg.chunks(numbers):
        yield from s.execute(q.where(RegistryRecord.id_number.in_(part)))


def _validate(ctx: ImportContext, row: ImportRow) -> list[tuple[str | None, str]]:
    errors = list(ctx.cache["problems"].get(row.line, ()))
    v = row.values
    v["_existing_id"] = None
    old = ctx.cache["existing"].get(v.get("id_number") or "")
    if old is None:
        return errors
    site_id = ctx.options["site_id"]
    if old.site_id == site_id:
        if not ctx.options["overwrite"]:
            errors.append(("id_number", f"该证件号码在本考点已有学籍（姓名：{old.name}）；如需覆盖，"
                                        f"请勾选“{OVERWRITE_LABEL}”后重新导入"))
    elif v.get("education") and reg.education_blocks(v["education"], old.education):
        errors.append(("education", f"文化程度（{v['education']}）低于已有学籍（考点 {reg.site_label(old.code, old.site_name)}，"
                                    f"{old.education}），不能覆盖"))
    v["_existing_id"] = old.id
    v["_moved_from"] = None if old.site_id == site_id else old.site_id
    return errors


def _update_many(s: Session, rows: list[tuple]) -> None:
    """UPDATE by primary key, straight through the driver's executemany: SQLAlchemy's per-row parameter
    processing costs more than the database's own work at 100k rows. Values are bound parameters, the
    SQL text is fixed (column names from the model)."""
    conn = s.connection()
    cols = ("site_id", *_UPDATE_FIELDS)
    mark = "%s"
    if conn.dialect.name == "sqlite":
        mark = "?"
        # stored as SQLAlchemy's Date does on SQLite (ISO text); do not rely on sqlite3's default adapter
        at = cols.index("birth_date")
        rows = [r[:at] + (r[at].isoformat() if r[at] else None,) + r[at + 1:] for r in rows]
    sql = (f"UPDATE {RegistryRecord.__tablename__} SET "
           + ", ".join(f"{c} = {mark}" for c in cols) + f", updated_at = CURRENT_TIMESTAMP WHERE id = {mark}")
    conn.exec_driver_sql(sql, rows)


def _commit(s: Session, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    site_id = options["site_id"]
    new, upd = [], []
    moved = 0
    for row in rows:
        v = row.values
        if v.get("_existing_id") is None:
            new.append({**{k: v.get(k) for k in reg.FIELDS}, "site_id": site_id})
        else:
            upd.append((site_id, *(v.get(k) for k in _UPDATE_FIELDS), v["_existing_id"]))
            moved += v.get("_moved_from") is not None
    if new:
        s.execute(insert(RegistryRecord.__table__), new)
    if upd:
        _update_many(s, upd)
    same = len(upd) - moved
    parts = [f"新增学籍 {len(new)} 条"] if new or not upd else []
    if same:
        parts.append(f"覆盖本考点已有学籍 {same} 条")
    if moved:
        parts.append(f"覆盖其他考点学籍 {moved} 条（学籍转入本考点）")
    return {"written": len(new) + len(upd), "inserted": len(new), "overwritten": same, "moved": moved,
            "message": "，".join(parts) + "。学籍数据和考次无关，跨考次一直保留。"}


def _enrol_year(text: str) -> int:
    """入学年份: a 4-digit year from 1950 to next year (checked against today's date at each import)."""
    return parse_int(reg.ENROL_YEAR_MIN, date.today().year + 1)(text)


REGISTRY_COLUMNS = [
    ImportColumn("name", "姓名", required=True, max_length=50, example="张三"),
    ImportColumn("id_type", "证件类型", choices=ID_TYPES, example=ID_CARD, width=22,
                 hint="为空按“居民身份证”处理"),
    ImportColumn("id_number", "证件号码", required=True, max_length=40,
                 example="11010519491231002X", width=22,
                 hint="考生唯一标识；居民身份证须 18 位且校验位正确，末位 x 自动转为 X；请设为文本格式"),
    ImportColumn("gender", "性别", choices=GENDERS, example="女", width=8,
                 hint="居民身份证可不填，按证件号码自动填写；填写则须与证件号码一致"),
    ImportColumn("birth_date", "出生日期", parsers=parse_date, example="1949-12-31", text=False, width=14,
                 hint="如 2005-09-01；居民身份证可不填，按证件号码自动填写；填写则须与证件号码一致"),
    ImportColumn("ethnicity", "民族", choices=reg.ETHNICITY_CHOICES, example="汉族", width=12),
    ImportColumn("education", "文化程度", required=True, choices=EDUCATION_LEVELS, example="大学本科", width=14,
                 hint="其他考点已有学籍时，文化程度低的不能覆盖文化程度高的"),
    ImportColumn("department", "院系", max_length=100, example="计算机学院", width=20),
    ImportColumn("major", "专业", max_length=100, example="软件工程", width=20),
    ImportColumn("class_name", "班级", max_length=50, example="软件2301班"),
    ImportColumn("student_no", "学号", max_length=40, example="2023010101", hint="请设为文本格式"),
    ImportColumn("enrol_year", "入学年份", parsers=_enrol_year, example="2023",
                 width=10, hint="4 位年份"),
    ImportColumn("phone", "手机号码", max_length=20, parsers=parse_phone, example="13800138000",
                 hint="11 位手机号码；请设为文本格式"),
    ImportColumn("remark", "备注", max_length=200, example="", width=24),
]

REGISTRY_SPEC = ImportSpec(
    name="registry",
    title="学籍数据导入",
    sheet_name=SHEET,
    columns=REGISTRY_COLUMNS,
    key_columns=("id_number",),
    modes=(ALL_OR_NOTHING,),
    before_import=_before,
    prepare=_prepare,
    validate_row=_validate,
    commit=_commit,
    entity="学籍",
    examples=[
        {"name": "张三", "id_type": ID_CARD, "id_number": "11010519491231002X", "gender": "女",
         "birth_date": "1949-12-31", "ethnicity": "汉族", "education": "大学本科", "department": "计算机学院",
         "major": "软件工程", "class_name": "软件2301班", "student_no": "2023010101", "enrol_year": "2023",
         "phone": "13800138000", "remark": ""},
        {"name": "李四", "id_type": "", "id_number": "110105194912310038", "gender": "", "birth_date": "",
         "ethnicity": "回族", "education": "大学专科", "department": "经济管理学院", "major": "会计",
         "class_name": "会计2302班", "student_no": "2023020215", "enrol_year": "2023", "phone": "",
         "remark": "证件类型、性别、出生日期为空：按居民身份证处理并由证件号码得出"},
        {"name": "JOHN SMITH", "id_type": "护照", "id_number": "E12345678", "gender": "男",
         "birth_date": "2004-05-06", "ethnicity": "其他", "education": "大学本科", "department": "国际学院",
         "major": "汉语言", "class_name": "留学生1班", "student_no": "2024090001", "enrol_year": "2024",
         "phone": "13900139000", "remark": "外籍考生"},
    ],
    notes=[
        "学籍数据和考次无关，跨考次一直保留；考点在本考点报名资格管理时间内可以导入。",
        "可在最左侧加“序号”列方便计数，导入时不读取，可以为空。",
        "证件号码是考生的唯一标识。证件类型为空时按“居民身份证”处理；居民身份证号码须为 18 位且校验位正确，"
        "末位小写 x 自动转为 X，全角数字和空格自动转换/去除。",
        "居民身份证的性别、出生日期可以不填，系统按证件号码自动填写；填写了则必须与证件号码一致。",
        f"证件号码在本考点已有学籍：不勾选“{OVERWRITE_LABEL}”时整个文件导入失败；勾选则以文件中的数据覆盖"
        "（空单元格即清空该项）。",
        "证件号码在其他考点已有学籍：新导入的学籍覆盖已有学籍（学籍转入本考点），但文化程度低的不能覆盖文化程度高的。",
        "任何一行有错误，整个文件都不导入；如部分报错数据一时查不出原因，可以移到单独文件中，先导入正确部分。",
        "更改学籍信息不会影响已报名考生的报名数据。",
    ],
)


def import_registry_file(db: Engine | Session, actor: Actor, data: bytes, filename: str,
                         site_id: int | None = None, overwrite: bool = False, dry_run: bool = True,
                         progress: Callable[[float, str], None] | None = None) -> ImportResult:
    """学籍数据导入 of one file (the CLI `python -m core import registry FILE --site CODE` and tests).

    `actor` must be the administrator of `site_id` (default: the actor's own site). `dry_run=True`
    only checks. Returns the ImportResult (totals, every error with row/column, what was written)."""
    return run_import(db, REGISTRY_SPEC, actor, data, filename, mode=ALL_OR_NOTHING, dry_run=dry_run,
                      options={"site_id": site_id, "overwrite": overwrite}, progress=progress)
