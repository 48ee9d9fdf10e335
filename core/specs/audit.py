"""审计日志: every write, export and login, read-only, in the actor's org scope."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.admin import Column, EntitySpec, Filter, register
from core.auth import ADMIN_ROLES, Actor, in_scope
from core.models import AuditLog, ExamTerm, Org

# audit action codes -> Chinese (codes not listed here are shown as stored)
ACTION_LABELS: dict[str, str] = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "import": "导入",
    "export": "导出",
    "upload": "上传",
    "submit": "提交申请",
    "resubmit": "重新提交",
    "approve": "审核通过",
    "reject": "审核不通过",
    "return": "退回",
    "withdraw": "撤回",
    "login": "登录",
    "login_failed": "登录失败",
    "login_locked": "账号锁定",
    "logout": "退出登录",
    "change_password": "修改密码",
    "reset_password": "重置密码",
}


def audit_scope(actor: Actor):
    """THE scope predicate on the org the entry concerns. 考试中心 also sees entries that concern no
    org (failed logins with an unknown user name, system jobs)."""
    pred = in_scope(actor, AuditLog.org_id)
    if actor.org_kind == "center":
        return or_(pred, AuditLog.org_id.is_(None))
    return pred


def _action_choices(s: Session, actor: Actor) -> dict[str, str]:
    seen = s.scalars(select(AuditLog.action).distinct().where(audit_scope(actor))).all()
    known = {k: v for k, v in ACTION_LABELS.items() if k in seen}
    extra = {k: k for k in sorted(x for x in seen if x and x not in ACTION_LABELS)}
    return known | extra


def _entity_choices(s: Session, actor: Actor) -> dict[str, str]:
    seen = s.scalars(select(AuditLog.entity).distinct().where(audit_scope(actor))
                   .order_by(AuditLog.entity)).all()
    return {x: x for x in seen if x}


def _term_choices(s: Session, actor: Actor) -> dict[int, str]:
    return {t.id: f"({t.code}) {t.name}" for t in s.scalars(select(ExamTerm).order_by(ExamTerm.id.desc()))}


def _base(actor: Actor):
    return select(AuditLog).outerjoin(Org, Org.id == AuditLog.org_id)


AUDIT_LOG = register(EntitySpec(
    name="audit_log",
    title="审计日志",
    description="系统中的每一次增删改、导入导出和登录都记录在此，只能查询和导出，不能修改。",
    model=AuditLog,
    org_column=AuditLog.org_id,
    scope_query=audit_scope,
    base_query=_base,
    columns=(
        Column("at", "时间", fmt="%Y-%m-%d %H:%M:%S"),
        Column("username", "操作人"),
        Column("org", "机构", expr=Org.name),
        Column("action", "操作", fmt=ACTION_LABELS, width="small"),
        Column("entity", "对象"),
        Column("entity_id", "对象ID", width="small"),
        Column("summary", "摘要", sortable=False, width="large"),
    ),
    detail_fields=(
        Column("term", "考次", expr=select(ExamTerm.name).where(ExamTerm.id == AuditLog.term_id)
               .correlate(AuditLog).scalar_subquery()),
        Column("before", "修改前", mask="record"),
        Column("after", "修改后", mask="record"),
    ),
    filters=(
        Filter("action", "操作", "choice", choices=_action_choices),
        Filter("entity", "对象", "choice", choices=_entity_choices),
        Filter("at", "时间范围", "date_range"),
        Filter("username", "操作人", "text", expanded=True),
        Filter("org", "机构名称", "text", expr=Org.name, expanded=True),
        Filter("entity_id", "对象ID", "text", expanded=True),
        Filter("term_id", "考次", "choice", choices=_term_choices, expanded=True),
    ),
    search=("username", "summary", "entity_id"),
    default_sort=("at", True),
    roles=ADMIN_ROLES,
    export_roles=ADMIN_ROLES,
    page_size=50,
))
