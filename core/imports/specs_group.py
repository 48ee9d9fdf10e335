"""集体报名信息导入 (001 §22): the Excel of the site's candidates, packed in a ZIP.

Rules (§22 and the §10/§13/§18/§19 settings they rely on):
- only the site's own administrator, inside its 报名管理时间, when the site 开考 and 启用集体报名;
- 证件号码 is the key; a person already registered in this 考次 at this site fails the whole file unless
  覆盖 is ticked; with 覆盖, a locked 报名信息 or a 报考 locked by a 集体缴费批次 fails it; a 考生注册
  (个人网报) candidate can never be overwritten nor get subjects added; someone registered at another site
  in this 考次 cannot be registered here;
- 报考信息: unpaid subjects are replaced by the file's list; paid ones never change;
- the site's subjects (开考, capacity > 0), total and per-subject capacity (locked and re-checked in the
  writing transaction), 报考最大科次, 班级必需 and 班级选项, 学籍报考设置 (§19), 意向考试日期 (§14);
- 电子邮件 is required and creates or binds the candidate's 通行证;
- with 报名信息需审核 the imported people are submitted for review (and so locked).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select

from core.auth import Actor
from core.codes import EDUCATION_LEVELS, ETHNICITIES, GENDERS, ID_CARD, ID_TYPES, OCCUPATIONS, OTHER_ETHNICITY
from core.codes import normalise_other_id
from core.errors import DomainError
from core.imports.engine import (
    ALL_OR_NOTHING, ImportColumn, ImportContext, ImportRow, ImportSpec, parse_date, parse_email, parse_id_number,
    parse_phone,
)
from core.models import Enrollment, IntentQuota, Org, PaymentOrder, Registration, RegistryRecord, SiteSubject, Subject
from core.services import ncre_setup as ns
from core.services import registration as reg
from core.workflow import submit_many

SUBJECT_SEP = re.compile(r"[;；,，、.。\s/|]+")


def parse_subject_codes(text: str) -> tuple[str, ...]:
    """'14;26' / '14，26' / '14.26' / '14 26' -> ('14', '26'); a code repeated is an error."""
    codes = [c for c in SUBJECT_SEP.split(unicodedata.normalize("NFKC", text).strip()) if c]
    if not codes:
        raise ValueError("不能为空")
    dup = [c for c, n in Counter(codes).items() if n > 1]
    if dup:
        raise ValueError(f"科目代码“{'、'.join(dup)}”重复填写")
    return tuple(codes)


def _reader(data: bytes, filename: str) -> tuple[bytes, str]:
    from core.imports.archive import single_table

    name, inner = single_table(data, filename)
    return inner, name


COLUMNS = [
    ImportColumn("name", "姓名", required=True, max_length=50, example="张三"),
    ImportColumn("id_type", "证件类型", choices=ID_TYPES, example=ID_CARD, hint="为空按居民身份证处理"),
    ImportColumn("id_number", "证件号码", required=True, max_length=40, example="11010120000101005X",
                 hint="文本格式；身份证末位 X 大写", width=22),
    ImportColumn("gender", "性别", choices=GENDERS, example="男", hint="居民身份证可不填（由证件号码得出）"),
    ImportColumn("birth_date", "出生日期", parsers=parse_date, example="2000-01-01",
                 hint="居民身份证可不填（由证件号码得出）"),
    ImportColumn("ethnicity", "民族", required=True, choices=(*ETHNICITIES, OTHER_ETHNICITY), example="汉族"),
    ImportColumn("education", "文化程度", required=True, choices=EDUCATION_LEVELS, example="大学本科"),
    ImportColumn("occupation", "职业", choices=OCCUPATIONS, example="在校学生"),
    ImportColumn("phone", "手机号码", required=True, parsers=parse_phone, example="13800138000", width=16),
    ImportColumn("email", "电子邮件", required=True, parsers=parse_email, example="zhangsan@example.com",
                 hint="必填：用于登录前台查看报名、缴费、打印准考证", width=24),
    ImportColumn("department", "院系", max_length=100, example="经济管理学院"),
    ImportColumn("major", "专业", max_length=100, example="会计学"),
    ImportColumn("class_name", "班级", max_length=50, example="会计一班", hint="考点设置了班级选项时只能从选项中选取"),
    ImportColumn("student_no", "学号", max_length=40, example="2023010101", hint="文本格式"),
    ImportColumn("postcode", "邮编", max_length=6, example="100000"),
    ImportColumn("address", "联系地址", max_length=200, example="北京市东城区××路 1 号"),
    ImportColumn("extra", "额外信息", max_length=200),
    ImportColumn("remark", "备注", max_length=200),
    ImportColumn("intent_date", "意向考试日期", parsers=parse_date, example="",
                 hint="仅在考点允许选择意向考试日期时填写"),
    ImportColumn("subjects", "报考科目", required=True, parsers=parse_subject_codes, example="14;26",
                 hint="科目代码，多个用分号分隔，如 14;26", width=14),
]


# ---------------------------------------------------------------- hooks
def _site(ctx: ImportContext) -> Org:
    site_id = ctx.options.get("site_id")
    if not site_id:
        raise DomainError("请选择导入到的考点。")
    return reg.site_for_write(ctx.session, ctx.actor, int(site_id), "集体报名信息导入")


def _before(ctx: ImportContext) -> None:
    s, actor = ctx.session, ctx.actor
    site = _site(ctx)
    setting = reg.site_setting(s, site.id, actor.term_id)
    if setting is None or not setting.is_open:
        raise DomainError("本考点本考次未开考（《考点报名综合设置》），不能报名。")
    if not setting.group_registration:
        raise DomainError("本考点未启用集体报名（《考点报名综合设置》），此功能不使用。")
    ctx.cache["site"], ctx.cache["setting"] = site, setting


def _prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    """Every look-up the row checks need, in a handful of bulk queries."""
    s, actor = ctx.session, ctx.actor
    site, term_id = ctx.cache["site"], actor.term_id
    # Normalise the 证件号码 by its type first: the look-ups need the final keys.
    for row in rows:
        _normalise_id(row)
    numbers = sorted({r.values["id_number"] for r in rows if r.values.get("id_number")})
    ctx.cache["subjects"] = {code: (sid, name) for sid, code, name in s.execute(
        select(Subject.id, Subject.code, Subject.name))}
    ctx.cache["open"] = {sid: cap for sid, cap in s.execute(select(SiteSubject.subject_id, SiteSubject.capacity).where(
        SiteSubject.site_id == site.id, SiteSubject.term_id == term_id))}
    existing: dict[str, Any] = {}
    for part in reg.chunks(numbers):
        for e, org in s.execute(select(Enrollment, Org).join(Org, Org.id == Enrollment.site_id).where(
                Enrollment.term_id == term_id, Enrollment.id_number.in_(part))):
            existing[e.id_number] = (e.id, e.site_id, org, e.channel, e.locked)
    ctx.cache["existing"] = existing
    mine = [v[0] for v in existing.values() if v[1] == site.id]
    regs: dict[int, list[tuple[int, bool]]] = {}
    batch_locked: set[int] = set()
    for part in reg.chunks(mine):
        for eid, sid, paid, order_state in s.execute(
                select(Registration.enrollment_id, Registration.subject_id, Registration.paid, PaymentOrder.state)
                .outerjoin(PaymentOrder, PaymentOrder.id == Registration.order_id)
                .where(Registration.enrollment_id.in_(part))):
            regs.setdefault(eid, []).append((sid, bool(paid)))
            if order_state == "unpaid" and not paid:
                batch_locked.add(eid)
    ctx.cache["regs"], ctx.cache["batch_locked"] = regs, batch_locked
    registry: dict[str, int] = {}
    for part in reg.chunks(numbers):
        registry.update(dict(s.execute(select(RegistryRecord.id_number, RegistryRecord.site_id)
                                       .where(RegistryRecord.id_number.in_(part))).all()))
    ctx.cache["registry"] = registry
    ctx.cache["registry_info"] = {sid: ns.registry_info(s, sid, term_id) for sid in set(registry.values())}
    ctx.cache["quota_days"] = {d for (d,) in s.execute(select(IntentQuota.exam_date).where(
        IntentQuota.site_id == site.id, IntentQuota.term_id == term_id))}


def _normalise_id(row: ImportRow) -> None:
    v = row.values
    raw = v.get("id_number")
    if raw is None or "id_number" in row.failed:
        return
    v["id_type"] = v.get("id_type") or ID_CARD
    try:
        v["id_number"] = parse_id_number(raw) if v["id_type"] == ID_CARD else normalise_other_id(raw)
    except ValueError as e:
        v["id_number"] = None
        v["_id_error"] = str(e)


def _validate(ctx: ImportContext, row: ImportRow) -> Iterable[tuple[str | None, str]]:
    v, c = row.values, ctx.cache
    site, setting = c["site"], c["setting"]
    id_error = v.pop("_id_error", None)
    if id_error:
        yield "id_number", id_error
    idn = v.get("id_number")
    if idn and v.get("id_type") == ID_CARD:
        born = date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
        sex = "男" if int(idn[16]) % 2 else "女"
        if v.get("birth_date") and v["birth_date"] != born:
            yield "birth_date", f"与证件号码中的出生日期（{born:%Y-%m-%d}）不一致"
        if v.get("gender") and v["gender"] != sex:
            yield "gender", f"与证件号码得出的性别（{sex}）不一致"
        v["birth_date"], v["gender"] = born, sex
    elif idn:
        if not v.get("gender") and "gender" not in row.failed:
            yield "gender", "非居民身份证必须填写性别"
        if not v.get("birth_date") and "birth_date" not in row.failed:
            yield "birth_date", "非居民身份证必须填写出生日期"
    # 报考科目
    ids: list[int] = []
    for code in v.get("subjects") or ():
        subj = c["subjects"].get(code)
        if subj is None:
            yield "subjects", f"科目代码“{code}”不存在"
            continue
        sid, name = subj
        cap = c["open"].get(sid, "missing")
        if cap == "missing":
            yield "subjects", f"本考点未开考科目（{code}）{name}"
        elif cap is None or cap == 0:
            yield "subjects", f"科目（{code}）{name}在本考点{'未设置容量' if cap is None else '不开考（容量为 0）'}"
        else:
            ids.append(sid)
    v["subject_ids"] = ids
    # existing 报名 in this 考次
    old = c["existing"].get(idn) if idn else None
    paid_kept: set[int] = set()
    if old:
        eid, old_site, org, channel, locked = old
        if old_site != site.id:
            yield "id_number", f"该考生本考次已在考点{ns.org_label(org)}报名，不能在本考点重复报名"
        elif channel != "group":
            yield "id_number", "该考生是个人网报（考生注册）考生，集体报名不能覆盖其报名信息，也不能为其增报科目"
        elif not ctx.options.get("overwrite"):
            yield "id_number", "系统中已存在该考生的报名信息；如需覆盖修改，请勾选“覆盖”后重新导入"
        elif locked:
            yield "id_number", "该考生报名信息已锁定，需要先在《考生管理》解除锁定才可导入"
        elif eid in c["batch_locked"]:
            yield "subjects", "该考生的报考科目已被未支付的集体缴费批次锁定，不能修改；请先支付或删除该批次"
        else:
            v["_enrollment_id"] = eid
            paid_kept = {sid for sid, paid in c["regs"].get(eid, ()) if paid}
    total = len(set(ids) | paid_kept)
    if ids and total > setting.max_subjects:
        extra = f"（含已支付 {len(paid_kept)} 科）" if paid_kept else ""
        yield "subjects", f"报考 {total} 科{extra}，超过本考点报考最大科次数量 {setting.max_subjects}"
    # 班级 (§10 班级必需, §18 班级选项)
    if "class_name" not in row.failed:
        try:
            v["class_name"] = ns.validate_class(setting, v.get("class_name"))
        except DomainError as e:
            yield "class_name", e.message
    # 意向考试日期 (§14)
    if v.get("intent_date"):
        if not setting.allow_intent_date:
            yield "intent_date", "本考点未启用考生选择意向考试日期，请留空"
        elif v["intent_date"] not in c["quota_days"]:
            days = "、".join(f"{d:%Y-%m-%d}" for d in sorted(c["quota_days"])) or "无"
            yield "intent_date", f"不是本考点设置的意向考试日期（可选：{days}）"
    # 学籍报考设置 (§19)
    if idn:
        reg_site = c["registry"].get(idn)
        info = c["registry_info"].get(reg_site) if reg_site else None
        ok, why = ns.registry_admission(setting, site, info)
        if not ok:
            yield "id_number", why
        v["is_registry"] = bool(setting.registry_enabled and info is not None and info.site_id == site.id)


def _check_all(ctx: ImportContext, rows: list[ImportRow]):
    """Capacity across the whole file (§13), before anything is written."""
    site, term_id = ctx.cache["site"], ctx.actor.term_id
    people = [r.values for r in rows]
    over = {p["id_number"]: p["_enrollment_id"] for p in people if p.get("_enrollment_id")}
    delta = reg.subject_delta(people, ctx.cache["regs"], over)
    seats = reg.lock_capacity(ctx.session, site.id, term_id, lock=False)
    for msg in seats.shortfalls(delta):
        yield None, "subjects", msg + "；请调整本考点容量或减少报考人数"


def _commit(s, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    site_id, term_id = int(options["site_id"]), actor.term_id
    setting = reg.site_setting(s, site_id, term_id)
    people = [r.values for r in rows]
    over = {p["id_number"]: p["_enrollment_id"] for p in people if p.get("_enrollment_id")}
    # Re-check under the lock what others may have changed since the rows were checked.
    if over:
        ids = list(over.values())
        changed = []
        for part in reg.chunks(ids):
            changed += list(s.scalars(select(Enrollment.id_number).where(Enrollment.id.in_(part),
                                                                         Enrollment.locked.is_(True))))
        if changed:
            raise DomainError(f"导入期间有 {len(changed)} 名考生的报名信息被锁定（如 {changed[0]}），"
                              f"本次未写入任何数据；请解锁后重新导入。")
    old_regs: dict[int, list[tuple[int, bool]]] = {}
    for part in reg.chunks(list(over.values())):
        for eid, sid, paid in s.execute(select(Registration.enrollment_id, Registration.subject_id, Registration.paid)
                                        .where(Registration.enrollment_id.in_(part))):
            old_regs.setdefault(eid, []).append((sid, bool(paid)))
    reg.require_seats(s, site_id, term_id, reg.subject_delta(people, old_regs, over))
    out = reg.write_people(s, site_id, term_id, people, channel="group", overwrite_ids=over)
    submitted = 0
    if setting is not None and setting.review_required:
        enroll = out["enrollments"]
        apps = submit_many(s, actor, reg.REVIEW_SPEC, {reg.review_key(term_id, n): site_id for n in enroll})
        s.connection().execute(
            Enrollment.__table__.update().where(Enrollment.__table__.c.id == bindparam("eid")),
            [dict(eid=eid, review_app_id=apps[reg.review_key(term_id, n)], locked=True) for n, eid in enroll.items()])
        submitted = len(apps)
    msg = (f"新报名 {out['new_enrollments']} 人，覆盖 {out['overwritten']} 人，写入报考 {out['registrations']} 科次，"
           f"新建通行证 {out['new_accounts']} 个" + (f"，提交审核 {submitted} 人" if submitted else ""))
    return {"written": len(people), "message": msg,
            "table": [{"项目": k, "数量": n} for k, n in (
                ("新报名考生", out["new_enrollments"]), ("覆盖报名信息", out["overwritten"]),
                ("写入报考科次", out["registrations"]), ("替换未支付科次", out["removed_registrations"]),
                ("新建通行证", out["new_accounts"]), ("提交审核", submitted))]}


GROUP_SPEC = ImportSpec(
    name="ncre_group_registration", title="集体报名信息", sheet_name="集体报名信息", columns=COLUMNS,
    key_columns=("id_number",), commit=_commit, prepare=_prepare, validate_row=_validate, before_import=_before,
    check_all=_check_all, reader=_reader, upload_types=("zip", "rar", "xlsx"), upload_label=".ZIP 压缩包（内含一个 .xlsx 文件）",
    modes=(ALL_OR_NOTHING,), entity="集体报名", max_rows=100_000,
    notes=("把填写好的 Excel 打成 .ZIP 压缩包后导入（不能打成 .RAR）。",
           "证件号码是考生的唯一标识；已报名的考生需勾选“覆盖”才能覆盖修改，已锁定的须先解锁。",
           "已支付的报考科目不会被修改；集体报名不能覆盖个人网报考生。",
           "电子邮件必填：首次使用的邮箱会注册通行证，初始密码为证件号码后 6 位，首次登录须修改。"),
)


def import_group_file(db, actor: Actor, data: bytes, filename: str, site_id: int, overwrite: bool = False,
                      dry_run: bool = True, progress=None):
    """The CLI's and the page's entry point."""
    from core.imports.engine import run_import

    result = run_import(db, GROUP_SPEC, actor, data, filename, dry_run=dry_run,
                        options={"site_id": site_id, "overwrite": overwrite}, progress=progress)
    if result.committed and result.written >= 1000:
        from core.db import analyze
        analyze(db, ("candidate", "candidate_account", "enrollment", "registration", "application"))
    return result
