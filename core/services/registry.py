"""学籍库 (001 §20 学籍数据导入, §21 学籍库信息管理).

The registry is independent of 考次 and kept across 考次 (§20, §21.1): one record per 证件号码 in the
whole system, owned by the site that imported (or added) it last.

Who may do what:
  - view, query, export: every administrator, within the org scope (THE predicate `in_scope` on
    RegistryRecord.site_id); ID numbers and phones are masked on the server.
  - add, edit, delete one, delete all query results, import: only the owning site's own
    administrator, inside the site's 报名资格管理时间 ('qualification' window), in the current 考次.

Changing the registry never touches 报名信息/报考信息 (Enrollment/Registration): they keep their own
copy of the personal data (§21.5).

The list/detail/export run through the EntitySpec kit (`core.specs.registry.REGISTRY` +
`core.services.listing`); the thin wrappers here (`list_records`, `get_record`, `export_records`)
are for other services, the CLI and tests. The import spec is `core.imports.specs_registry`.

Decisions (documented for the pages and the template):
  - 证件类型 empty -> 居民身份证.
  - 居民身份证: 性别 and 出生日期 are derived from the number when empty; when filled they must match.
  - 新增 of a 证件号码 that already has a 学籍 at another site is refused with the owning site named:
    moving a student to this site is done by 学籍数据导入 (which applies the §20.5.2 文化程度 rule).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Iterable, Sequence

from sqlalchemy import delete as sa_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org, in_scope
from core.codes import EDUCATION_LEVELS, ETHNICITIES, GENDERS, ID_CARD, ID_TYPES, OTHER_ETHNICITY, education_rank
from core.codes import normalise_other_id
from core.errors import NotFound, PermissionDenied, ValidationError
from core.imports.engine import parse_id_number, parse_phone
from core.models import Org, RegistryRecord, SiteSetting
from core.services import listing
from core.services.base import audit, require_window, row_dict, window_state

WINDOW = "qualification"
ENTITY = "学籍"
IN_CHUNK = 900  # stay below SQLite's bound-parameter limit
ENROL_YEAR_MIN = 1950
ETHNICITY_CHOICES = ETHNICITIES + (OTHER_ETHNICITY,)

# field key -> (Chinese label, max length) for the text fields
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "name": ("姓名", 50),
    "department": ("院系", 100),
    "major": ("专业", 100),
    "class_name": ("班级", 50),
    "student_no": ("学号", 40),
    "remark": ("备注", 200),
}
# every stored field of a record, in the order of the template
FIELDS = ("id_type", "id_number", "name", "gender", "birth_date", "ethnicity", "education", "department",
          "major", "class_name", "student_no", "enrol_year", "phone", "remark")
LABELS = {"id_type": "证件类型", "id_number": "证件号码", "name": "姓名", "gender": "性别", "birth_date": "出生日期",
          "ethnicity": "民族", "education": "文化程度", "department": "院系", "major": "专业", "class_name": "班级",
          "student_no": "学号", "enrol_year": "入学年份", "phone": "手机号码", "remark": "备注"}

SITE_ONLY = ("学籍库由考点管理员在本考点报名资格管理时间内管理（新增、修改、删除、导入），上级机构只能查询查看和导出；"
             "如需延长，请在《考点操作时间设置》中延长考点的“报名资格管理结束时间”。")


# ---------------------------------------------------------------- pure rules (no database)
def chunks(items: Sequence[Any], n: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def normalise_id(id_type: str | None, text: Any) -> str:
    """The stored form of an ID number of `id_type` (None/empty = 居民身份证). ValueError("中文") if invalid.

    居民身份证: GB 11643 (18 characters, region, birth date, check character); full-width characters
    and spaces are normalised and a lower-case x becomes X. Other types: core.codes.normalise_other_id."""
    id_type = id_type or ID_CARD
    if id_type == ID_CARD:
        try:
            return parse_id_number(text)
        except ValueError as e:
            msg = str(e)
            if msg.startswith("15"):
                raise
            if msg.startswith(("出生日期", "前两位")):
                raise ValueError(f"居民身份证号码中的{msg}") from None
            if "位" in msg and "校验位" not in msg:
                msg += "；如不是居民身份证，请选择正确的证件类型"
            raise ValueError(f"居民身份证号码{msg}") from None
    if id_type not in ID_TYPES:
        raise ValueError(f"证件类型“{id_type}”无效")
    return normalise_other_id(text)


def id_card_facts(id_number: str) -> tuple[str, date]:
    """(性别, 出生日期) encoded in a valid 18-digit 居民身份证号码."""
    gender = GENDERS[0] if int(id_number[16]) % 2 == 1 else GENDERS[1]
    return gender, date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def check_against_id(id_type: str | None, id_number: str | None, gender: str | None,
                     birth: date | None) -> tuple[str | None, date | None, list[tuple[str, str]]]:
    """For a 居民身份证: fill empty 性别/出生日期 from the number and report a mismatch.
    Returns (gender, birth, [(field key, message)])."""
    if (id_type or ID_CARD) != ID_CARD or not id_number:
        return gender, birth, []
    g, b = id_card_facts(id_number)
    errors = []
    if gender and gender != g:
        errors.append(("gender", f"性别“{gender}”与证件号码不符（证件号码第 17 位表示“{g}”）"))
    if birth and birth != b:
        errors.append(("birth_date", f"出生日期 {birth.isoformat()} 与证件号码中的出生日期 {b.isoformat()} 不符"))
    return gender or g, birth or b, errors


def education_blocks(new: str | None, existing: str | None) -> bool:
    """§20.5.2: a lower 文化程度 never overwrites a higher one."""
    return education_rank(new) < education_rank(existing)


def site_label(code: str, name: str) -> str:
    return f"({code}){name}"


# ---------------------------------------------------------------- access checks
def _site(s: Session, actor: Actor, site_id: int) -> Org:
    org = get_scoped_org(s, actor, site_id)
    if org.kind != "site":
        raise ValidationError(f"“{org.name}”不是考点，学籍库按考点管理，请选择考点。", "考点")
    return org


def require_site_writer(s: Session, actor: Actor, site_id: int | None = None) -> Org:
    """The actor must be the administrator of this site (default: its own), in the current 考次,
    inside the site's 报名资格管理时间. Returns the site."""
    if actor.role != "site_admin":
        raise PermissionDenied(SITE_ONLY)
    site = _site(s, actor, site_id if site_id is not None else actor.org_id)
    if actor.org_id != site.id:
        raise PermissionDenied(SITE_ONLY)
    require_window(s, actor, WINDOW)
    return site


def _record(s: Session, actor: Actor, record_id: int) -> RegistryRecord:
    rec = s.scalar(select(RegistryRecord).where(RegistryRecord.id == record_id,
                                                in_scope(actor, RegistryRecord.site_id)))
    if rec is None:
        raise NotFound("学籍记录不存在或不在您的管理范围内。")
    return rec


def _owned(s: Session, actor: Actor, rec: RegistryRecord) -> Org:
    return require_site_writer(s, actor, rec.site_id)


# ---------------------------------------------------------------- value checks (forms)
def _text(v: Any, key: str) -> str | None:
    if v is None:
        return None
    t = str(v).strip()
    if not t:
        return None
    label, limit = TEXT_FIELDS[key]
    if len(t) > limit:
        raise ValidationError(f"{label}不能超过 {limit} 个字（当前 {len(t)} 个字）。", key)
    return t


def _choice(v: Any, key: str, choices: Sequence[str]) -> str | None:
    if v is None or str(v).strip() == "":
        return None
    t = str(v).strip()
    if t not in choices:
        raise ValidationError(f"{LABELS[key]}“{t}”无效，请从列表中选择。", key)
    return t


def _year(v: Any) -> int | None:
    if v is None or v == "":
        return None
    try:
        y = int(unicodedata.normalize("NFKC", str(v)).strip())
    except ValueError:
        raise ValidationError("入学年份须为 4 位年份，如 2024。", "enrol_year") from None
    hi = date.today().year + 1
    if not ENROL_YEAR_MIN <= y <= hi:
        raise ValidationError(f"入学年份须在 {ENROL_YEAR_MIN}–{hi} 之间。", "enrol_year")
    return y


def _date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip())
    except ValueError:
        raise ValidationError("出生日期格式不正确（如 2005-09-01）。", "birth_date") from None


def clean_values(values: dict[str, Any], *, id_type: str | None = None, id_number: str | None = None
                 ) -> dict[str, Any]:
    """Check and normalise the fields present in `values` (form input). `id_type`/`id_number`: the
    record's identity when editing (they are not editable). Raises ValidationError naming the field."""
    out: dict[str, Any] = {}
    if id_number is None:  # new record: the identity comes from the form
        id_type = _choice(values.get("id_type"), "id_type", ID_TYPES) or ID_CARD
        raw = values.get("id_number")
        if raw is None or str(raw).strip() == "":
            raise ValidationError("请填写证件号码。", "id_number")
        try:
            id_number = normalise_id(id_type, raw)
        except ValueError as e:
            raise ValidationError(str(e), "id_number") from None
        out["id_type"], out["id_number"] = id_type, id_number
    for key in TEXT_FIELDS:
        if key in values:
            out[key] = _text(values[key], key)
    if "name" in values and not out.get("name"):
        raise ValidationError("请填写姓名。", "name")
    if "gender" in values:
        out["gender"] = _choice(values["gender"], "gender", GENDERS)
    if "birth_date" in values:
        out["birth_date"] = _date(values["birth_date"])
    if "ethnicity" in values:
        out["ethnicity"] = _choice(values["ethnicity"], "ethnicity", ETHNICITY_CHOICES)
    if "education" in values:
        out["education"] = _choice(values["education"], "education", EDUCATION_LEVELS)
        if not out["education"]:
            raise ValidationError("请选择文化程度。", "education")
    if "enrol_year" in values:
        out["enrol_year"] = _year(values["enrol_year"])
    if "phone" in values:
        p = values["phone"]
        if p is None or str(p).strip() == "":
            out["phone"] = None
        else:
            try:
                out["phone"] = parse_phone(p)
            except ValueError as e:
                raise ValidationError(str(e), "phone") from None
    if "gender" in out or "birth_date" in out:
        g, b, errors = check_against_id(id_type, id_number, out.get("gender"), out.get("birth_date"))
        if errors:
            key, msg = errors[0]
            raise ValidationError(msg + "。", key)
        if "gender" in out:
            out["gender"] = g
        if "birth_date" in out:
            out["birth_date"] = b
    return out


# ---------------------------------------------------------------- reads
def site_info(s: Session, actor: Actor, site_id: int | None = None) -> dict[str, Any]:
    """The site (default: the actor's own): its label and whether it 启用学籍库 (§19, in the 考次 being
    viewed; the pages show a note when not)."""
    site = _site(s, actor, site_id if site_id is not None else actor.org_id)
    enabled = s.scalar(select(SiteSetting.registry_enabled).where(SiteSetting.site_id == site.id,
                                                                   SiteSetting.term_id == actor.term_id))
    return {"id": site.id, "label": site_label(site.code, site.name), "registry_enabled": bool(enabled)}


def writable_now(s: Session, actor: Actor) -> bool:
    """May the actor change its site's 学籍 now (site administrator, current 考次, window open)?"""
    if actor.role != "site_admin" or actor.org_kind != "site" or not actor.term_is_current:
        return False
    return window_state(s, actor, WINDOW).is_open


def describe_query(filters: dict | None) -> str:
    """The list's query conditions in words ('全部' when none), e.g. '班级=会计一班；文化程度=大学本科'."""
    return listing.describe_filters(_spec(), filters, None, {"education": {x: x for x in EDUCATION_LEVELS}})


def lookup(s: Session, id_number: str) -> RegistryRecord | None:
    """The 学籍 of a 证件号码 anywhere (no permission check): for the registration service, which
    loads it when a 学籍考生 registers (§21.4). The number is normalised (x -> X, full width, spaces)."""
    t = re.sub(r"[\s\u3000]+", "", unicodedata.normalize("NFKC", str(id_number or ""))).upper()
    return s.scalar(select(RegistryRecord).where(RegistryRecord.id_number == t)) if t else None


def _spec():
    from core.specs.registry import REGISTRY

    return REGISTRY


def list_records(s: Session, actor: Actor, filters: dict | None = None, *, sort: tuple[str, bool] | None = None,
                 page: int = 1, page_size: int | None = None):
    """One page of the 学籍 in the actor's scope (masked): core.services.listing.Page."""
    return listing.list_rows(s, actor, _spec(), filters=filters, sort=sort, page=page, page_size=page_size)


def get_record(s: Session, actor: Actor, record_id: int) -> dict:
    """One 学籍 (masked) in the actor's scope; NotFound otherwise."""
    return listing.get_row(s, actor, _spec(), record_id)


def export_records(s: Session, actor: Actor, filters: dict | None = None, fmt: str = "xlsx") -> tuple[bytes, str]:
    """The whole query result as xlsx/csv: scoped, masked, formula-safe, audited ("export")."""
    return listing.export_rows(s, actor, _spec(), filters=filters, fmt=fmt)


def count_query_results(s: Session, actor: Actor, filters: dict | None = None) -> int:
    """How many 学籍 the query (the list's filters) finds in the actor's scope."""
    spec = _spec()
    listing.require_view(actor, spec)
    stmt = listing.filtered(actor, spec, filters, None)
    ids = stmt.with_only_columns(RegistryRecord.id, maintain_column_froms=True).order_by(None)
    return int(s.scalar(select(func.count()).select_from(ids.subquery())) or 0)


# ---------------------------------------------------------------- writes
def create_record(s: Session, actor: Actor, values: dict[str, Any]) -> RegistryRecord:
    """新增 one 学籍 at the actor's own site. A 证件号码 that already has a 学籍 is refused (at this
    site: modify it instead; at another site: use 学籍数据导入, which applies the 文化程度 rule)."""
    site = require_site_writer(s, actor)
    v = clean_values(values)
    if "education" not in v:
        raise ValidationError("请选择文化程度。", "education")
    if "name" not in v or not v.get("name"):
        raise ValidationError("请填写姓名。", "name")
    if "gender" not in v or "birth_date" not in v:
        g, b, _ = check_against_id(v["id_type"], v["id_number"], v.get("gender"), v.get("birth_date"))
        v["gender"], v["birth_date"] = g, b
    row = s.execute(select(RegistryRecord.site_id, Org.code, Org.name).join(Org, Org.id == RegistryRecord.site_id)
                    .where(RegistryRecord.id_number == v["id_number"])).first()
    if row is not None:
        if row.site_id == site.id:
            raise ValidationError("该证件号码在本考点已有学籍，请在列表中查询后修改。", "id_number")
        raise ValidationError(f"该证件号码已有学籍（考点 {site_label(row.code, row.name)}）。如该考生已转入本考点，"
                              f"请通过《学籍数据导入》导入（文化程度不低于已有学籍时覆盖）。", "id_number")
    rec = RegistryRecord(site_id=site.id, **{k: v.get(k) for k in FIELDS})
    s.add(rec)
    s.flush()
    audit(s, actor, "create", ENTITY, rec.id, org_id=site.id, after=row_dict(rec),
          summary=f"新增学籍：{rec.name}")
    return rec


def update_record(s: Session, actor: Actor, record_id: int, values: dict[str, Any]) -> RegistryRecord:
    """修改 one 学籍 of the actor's own site. 证件类型 and 证件号码 are the identity and cannot change;
    fields absent from `values` are left as they are."""
    rec = _record(s, actor, record_id)
    _owned(s, actor, rec)
    for key in ("id_type", "id_number"):
        if key in values and values[key] not in (None, "") and str(values[key]).strip().upper() != getattr(rec, key):
            raise ValidationError(f"{LABELS[key]}不能修改；如有错误，请删除后重新新增。", key)
    changes = {k: v for k, v in values.items() if k in FIELDS and k not in ("id_type", "id_number")}
    v = clean_values(changes, id_type=rec.id_type, id_number=rec.id_number)
    before = row_dict(rec)
    for k, x in v.items():
        setattr(rec, k, x)
    s.flush()
    audit(s, actor, "update", ENTITY, rec.id, org_id=rec.site_id, before=before, after=row_dict(rec),
          summary=f"修改学籍：{rec.name}")
    return rec


def delete_records(s: Session, actor: Actor, ids: Sequence[int]) -> str:
    """删除 the chosen 学籍 (all of the actor's own site). Registrations are not touched."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        raise ValidationError("请先在列表中勾选要删除的学籍。")
    site = require_site_writer(s, actor)
    found: list[tuple[int, int, str, str]] = []
    for part in chunks(ids):
        found += s.execute(select(RegistryRecord.id, RegistryRecord.site_id, RegistryRecord.id_number,
                                  RegistryRecord.name).where(RegistryRecord.id.in_(part),
                                                             in_scope(actor, RegistryRecord.site_id))).all()
    if len(found) != len(ids):
        raise NotFound("所选学籍不存在或不在您的管理范围内。")
    if any(r[1] != site.id for r in found):
        raise PermissionDenied(SITE_ONLY)
    for part in chunks(ids):
        s.execute(sa_delete(RegistryRecord).where(RegistryRecord.id.in_(part))
                  .execution_options(synchronize_session=False))
    people = [{"id_number": r[2], "name": r[3]} for r in found[:1000]]
    audit(s, actor, "delete", ENTITY, found[0][0] if len(found) == 1 else None, org_id=site.id,
          before={"records": people, "count": len(found)},
          summary=f"删除学籍 {len(found)} 条" + (f"：{found[0][3]}" if len(found) == 1 else ""))
    return f"已删除 {len(found)} 条学籍。"


def delete_query_results(s: Session, actor: Actor, filters: dict | None, expected: int | None = None) -> int:
    """删除全部查询结果: every 学籍 the query finds (the actor's own site only). `expected` is the count
    the user confirmed: when the result changed meanwhile nothing is deleted. Returns the count."""
    site = require_site_writer(s, actor)
    spec = _spec()
    stmt = listing.filtered(actor, spec, filters, None).with_only_columns(
        RegistryRecord.id, RegistryRecord.site_id, maintain_column_froms=True).order_by(None)
    rows = s.execute(stmt).all()
    if expected is not None and len(rows) != expected:
        raise ValidationError(f"查询结果已变化（确认时为 {expected} 条，现在为 {len(rows)} 条），未删除任何学籍；"
                              f"请重新查询并确认。")
    if not rows:
        raise ValidationError("查询结果为空，没有可删除的学籍。")
    if any(r.site_id != site.id for r in rows):
        raise PermissionDenied(SITE_ONLY)
    ids = [r.id for r in rows]
    for part in chunks(ids):
        s.execute(sa_delete(RegistryRecord).where(RegistryRecord.id.in_(part))
                  .execution_options(synchronize_session=False))
    cond = describe_query(filters)
    audit(s, actor, "delete", ENTITY, None, org_id=site.id, after={"count": len(ids), "filters": filters or {},
                                                                   "ids": ids[:1000]},
          summary=f"删除全部查询结果：学籍 {len(ids)} 条；条件：{cond}")
    return len(ids)
