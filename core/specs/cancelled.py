"""取消考试信息查看 (001 §27): the 报考 cancelled by a site (§25.9), as they were, with the reason,
who cancelled and when. View and export only (never restored); scoped to the sites of the actor in
the 考次 being viewed. The ID number is masked in the list and the export carries only its last 4
characters, like the 考生管理 export (§25.7)."""
from __future__ import annotations

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from core.admin import Column, EntitySpec, Filter, register
from core.auth import ADMIN_ROLES, Actor
from core.codes import CHANNELS
from core.masking import id_last4
from core.models import CancelledRegistration as CR
from core.models import Org, Subject

PAID = {True: "已支付", False: "未支付"}


def _base(actor: Actor):
    q = (select(CR).join(Org, Org.id == CR.site_id).join(Subject, Subject.id == CR.subject_id))
    return q.where(CR.term_id == actor.term_id) if actor.term_id is not None else q.where(false())


def _subject_choices(s: Session, actor: Actor) -> dict[int, str]:
    return {x.id: f"({x.code}) {x.name}" for x in s.scalars(select(Subject).order_by(Subject.code))}


def _id_exact(v: str):
    """证件号码: the whole number (no partial matches on a masked column)."""
    return CR.id_number == v.strip().upper()


CANCELLED = register(EntitySpec(
    name="cancelled_registration",
    title="取消考试信息查看",
    description="考点取消考试的考生报考信息（含取消原因、操作人和时间），只能查询、查看和导出，不能恢复。"
                "证件号码已脱敏，导出文件中只含证件号码后 4 位。",
    model=CR,
    org_column=CR.site_id,
    base_query=_base,
    columns=(
        Column("site", "考点", expr="(" + Org.code + ")" + Org.name),
        Column("name", "姓名"),
        Column("id_type", "证件类型"),
        Column("id_number", "证件号码", mask="id"),
        Column("id_last4", "证件号码(后4位)", expr=CR.id_number, fmt=id_last4, sortable=False, width="small"),
        Column("subject", "报考科目", expr="(" + Subject.code + ") " + Subject.name),
        Column("channel", "报名方式", fmt=CHANNELS, width="small"),
        Column("fee", "报考费用（元）", fmt="{:.2f}", width="small"),
        Column("paid", "支付状态", fmt=PAID, width="small"),
        Column("paid_at", "支付时间", fmt="%Y-%m-%d %H:%M:%S"),
        Column("registered_at", "报考时间", fmt="%Y-%m-%d %H:%M:%S"),
        Column("reason", "取消原因", sortable=False, width="large"),
        Column("cancelled_by", "取消人"),
        Column("cancelled_at", "取消时间", fmt="%Y-%m-%d %H:%M:%S"),
    ),
    filters=(
        Filter("id_number", "证件号码", "text", clause=_id_exact),
        Filter("name", "姓名", "text"),
        Filter("subject_id", "科目", "choice", choices=_subject_choices),
        Filter("cancelled_at", "取消时间", "date_range"),
        Filter("site", "考点名称", "text", expr=Org.name, expanded=True),
        Filter("reason", "取消原因", "text", expanded=True),
    ),
    search=("name", "reason"),
    default_sort=("cancelled_at", True),
    roles=ADMIN_ROLES,
    export_roles=ADMIN_ROLES,
    export_columns=("site", "name", "id_type", "id_last4", "subject", "channel", "fee", "paid", "paid_at",
                    "registered_at", "reason", "cancelled_by", "cancelled_at"),
))
