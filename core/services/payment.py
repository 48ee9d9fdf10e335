"""缴费 (001 §22.11, §25.5–6): 集体缴费批次 and candidate orders, paid through a PaymentProvider.

There is no real gateway here. `OfflineProvider` models the usual fallback: the site pays by bank
transfer / at the counter and the administrator records the 缴费凭证号; "更新" asks the provider again.
A real gateway plugs in by implementing `PaymentProvider` and registering it in PROVIDERS.

Rules: a site locks at most one unpaid 集体缴费批次 at a time; a 报考 belongs to at most one unpaid
batch; a locked 报考 cannot be changed or deleted; with 报名信息需审核 only 审核通过 candidates may pay;
creating a batch locks the candidates' 报名信息 (§25.11 "考生发起支付时，会自动锁定"); deleting a batch
first updates it, needs a reason, and frees its 报考.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.auth import Actor, in_scope
from core.errors import DomainError, NotFound, ValidationError
from core.models import Application, Enrollment, PaymentOrder, Registration, SiteSetting, Subject
from core.services import registration as reg
from core.services.base import audit

STATE_LABELS = {"unpaid": "未支付", "paid": "已支付", "deleted": "已删除"}


@dataclass(frozen=True)
class ProviderStatus:
    paid: bool
    paid_at: datetime | None = None
    payer_ref: str | None = None


class PaymentProvider(Protocol):
    name: str
    label: str

    def create(self, order: PaymentOrder) -> str:
        """Open the order at the provider; returns the provider's order number."""

    def confirm(self, order: PaymentOrder, payer_ref: str) -> None:
        """Offline providers: the administrator records the payment voucher."""

    def query(self, order: PaymentOrder) -> ProviderStatus:
        """Ask the provider whether the order is paid (更新)."""


class OfflineProvider:
    """线下缴费: paid when the administrator records the voucher number."""

    name = "offline"
    label = "线下缴费（录入缴费凭证号）"

    def create(self, order: PaymentOrder) -> str:
        return f"OFF{datetime.now():%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"

    def confirm(self, order: PaymentOrder, payer_ref: str) -> None:
        order.payer_ref = payer_ref

    def query(self, order: PaymentOrder) -> ProviderStatus:
        return ProviderStatus(bool(order.payer_ref), order.paid_at or datetime.now(), order.payer_ref)


PROVIDERS: dict[str, PaymentProvider] = {"offline": OfflineProvider()}


def provider_for(order: PaymentOrder) -> PaymentProvider:
    p = PROVIDERS.get(order.provider)
    if p is None:
        raise DomainError(f"支付渠道“{order.provider}”不可用。")
    return p


def _lock_site(s: Session, site_id: int, term_id: int) -> SiteSetting:
    st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == site_id, SiteSetting.term_id == term_id)
                  .with_for_update())
    if st is None:
        raise DomainError("本考点本考次未设置报名综合设置。")
    return st


def _order(s: Session, actor: Actor, order_id: int) -> PaymentOrder:
    o = s.scalar(select(PaymentOrder).where(PaymentOrder.id == order_id, PaymentOrder.term_id == actor.term_id,
                                            in_scope(actor, PaymentOrder.site_id)))
    if o is None:
        raise NotFound("缴费批次不存在或不在您的管理范围内。")
    return o


def eligible_registrations(s: Session, site_id: int, term_id: int, enrollment_ids: list[int] | None,
                           subject_ids: list[int] | None = None) -> list[tuple[int, int, Decimal]]:
    """(registration id, enrollment id, fee) that may be put in a new batch: unpaid, not locked by an
    unpaid batch, and (when the site reviews) of 审核通过 candidates."""
    st = reg.site_setting(s, site_id, term_id)
    q = (select(Registration.id, Registration.enrollment_id, Registration.fee)
         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
         .outerjoin(PaymentOrder, PaymentOrder.id == Registration.order_id)
         .where(Registration.site_id == site_id, Registration.term_id == term_id, Registration.paid.is_(False),
                (PaymentOrder.id.is_(None)) | (PaymentOrder.state != "unpaid")))
    if st is not None and st.review_required:
        q = q.join(Application, Application.id == Enrollment.review_app_id).where(Application.state == "approved")
    if subject_ids:
        q = q.where(Registration.subject_id.in_(subject_ids))
    if enrollment_ids is not None:
        out = []
        for part in reg.chunks(enrollment_ids):
            out += [(a, b, Decimal(str(c))) for a, b, c in s.execute(q.where(Registration.enrollment_id.in_(part)))]
        return out
    return [(a, b, Decimal(str(c))) for a, b, c in s.execute(q)]


def create_group_batch(s: Session, actor: Actor, site_id: int, enrollment_ids: list[int] | None,
                       subject_ids: list[int] | None = None) -> PaymentOrder:
    """锁定集体缴费批次: the eligible 报考 of the selected candidates (None: all of the site)."""
    reg.site_for_write(s, actor, site_id, "集体缴费")
    st = _lock_site(s, site_id, actor.term_id)
    if not st.group_payment:
        raise DomainError("本考点未开通集体缴费（《考点报名综合设置》）。")
    open_batch = s.scalar(select(PaymentOrder.id).where(PaymentOrder.site_id == site_id,
                                                        PaymentOrder.term_id == actor.term_id,
                                                        PaymentOrder.kind == "group", PaymentOrder.state == "unpaid"))
    if open_batch:
        raise DomainError(f"考点每次只能锁定一个集体缴费批次：批次 {open_batch} 尚未支付或删除，请先处理该批次。")
    items = eligible_registrations(s, site_id, actor.term_id, enrollment_ids, subject_ids)
    if not items:
        raise DomainError("没有满足支付条件的报考科目（须未支付、未被其他批次锁定" +
                          ("、报名信息审核已通过" if st.review_required else "") + "）。")
    reg_ids = [i for i, _, _ in items]
    people = sorted({e for _, e, _ in items})
    codes = sorted(set(s.scalars(select(Subject.code).join(Registration, Registration.subject_id == Subject.id)
                                 .where(Registration.id.in_(reg_ids[:reg.CHUNK])))))
    provider = PROVIDERS["offline"]
    order = PaymentOrder(term_id=actor.term_id, site_id=site_id, kind="group", state="unpaid",
                         candidate_count=len(people), item_count=len(reg_ids), subject_codes=",".join(codes)[:200],
                         amount=sum((f for _, _, f in items), Decimal(0)), provider=provider.name,
                         created_by=actor.user_id)
    s.add(order)
    s.flush()
    order.provider_ref = provider.create(order)
    for part in reg.chunks(reg_ids):
        res = s.execute(update(Registration).where(Registration.id.in_(part), Registration.paid.is_(False))
                        .values(order_id=order.id).execution_options(synchronize_session=False))
        if res.rowcount != len(part):
            raise DomainError("部分报考科目刚被支付或修改，请刷新后重新锁定批次。")
    for part in reg.chunks(people):
        s.execute(update(Enrollment).where(Enrollment.id.in_(part)).values(locked=True)
                  .execution_options(synchronize_session=False))
    audit(s, actor, "create", "集体缴费批次", order.id, org_id=site_id,
          after={"candidates": len(people), "items": len(reg_ids), "amount": str(order.amount)},
          summary=f"锁定集体缴费批次 {order.id}：{len(people)} 人，{len(reg_ids)} 科次，{order.amount} 元")
    return order


def _apply_paid(s: Session, order: PaymentOrder, status: ProviderStatus) -> int:
    order.state, order.paid_at = "paid", status.paid_at or datetime.now()
    order.payer_ref = status.payer_ref or order.payer_ref
    res = s.execute(update(Registration).where(Registration.order_id == order.id, Registration.paid.is_(False))
                    .values(paid=True, paid_at=order.paid_at).execution_options(synchronize_session=False))
    return res.rowcount or 0


def pay_batch(s: Session, actor: Actor, order_id: int, payer_ref: str) -> int:
    """支付 (offline): record the voucher, then update. Returns the 报考 marked paid."""
    o = _order(s, actor, order_id)
    reg.site_for_write(s, actor, o.site_id, "集体缴费")
    payer_ref = (payer_ref or "").strip()
    if not payer_ref or len(payer_ref) > 100:
        raise ValidationError("请填写缴费凭证号（不超过 100 个字符）。", "缴费凭证号")
    if o.state != "unpaid":
        raise DomainError(f"批次 {o.id} {STATE_LABELS[o.state]}，不能支付。")
    provider_for(o).confirm(o, payer_ref)
    n = _refresh(s, o)
    audit(s, actor, "pay", "集体缴费批次", o.id, org_id=o.site_id, after={"payer_ref": payer_ref, "paid": n},
          summary=f"集体缴费批次 {o.id} 支付：凭证号 {payer_ref}，{n} 科次已支付")
    return n


def _refresh(s: Session, o: PaymentOrder) -> int:
    status = provider_for(o).query(o)
    return _apply_paid(s, o, status) if status.paid else 0


def refresh_batch(s: Session, actor: Actor, order_id: int) -> str:
    """更新: ask the provider again (e.g. the payment page closed before the result came back)."""
    o = _order(s, actor, order_id)
    reg.site_for_write(s, actor, o.site_id, "集体缴费")
    if o.state != "unpaid":
        return f"批次 {o.id} {STATE_LABELS[o.state]}。"
    n = _refresh(s, o)
    audit(s, actor, "refresh", "集体缴费批次", o.id, org_id=o.site_id, after={"state": o.state, "paid": n},
          summary=f"更新集体缴费批次 {o.id}：{STATE_LABELS[o.state]}")
    return f"批次 {o.id} 已支付，{n} 科次更新为已支付。" if o.state == "paid" else f"批次 {o.id} 仍未支付。"


def delete_batch(s: Session, actor: Actor, order_id: int, reason: str) -> None:
    """删除批次: update first; a paid batch cannot be deleted; the reason is required; frees its 报考."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("删除批次必须填写删除原因。", "删除原因")
    if len(reason) > 500:
        raise ValidationError("删除原因不能超过 500 个字符。", "删除原因")
    o = _order(s, actor, order_id)
    reg.site_for_write(s, actor, o.site_id, "集体缴费")
    if o.state == "deleted":
        raise DomainError(f"批次 {o.id} 已删除。")
    if o.state == "unpaid":
        _refresh(s, o)
    if o.state == "paid":
        raise DomainError(f"批次 {o.id} 已支付，不能删除。")
    o.state, o.deleted_at, o.delete_reason = "deleted", datetime.now(), reason
    freed = s.execute(update(Registration).where(Registration.order_id == o.id, Registration.paid.is_(False))
                      .values(order_id=None).execution_options(synchronize_session=False)).rowcount or 0
    audit(s, actor, "delete", "集体缴费批次", o.id, org_id=o.site_id, after={"reason": reason, "freed": freed},
          summary=f"删除集体缴费批次 {o.id}（释放 {freed} 科次），原因：{reason}")


def list_batches(s: Session, actor: Actor, site_id: int | None = None, include_paid: bool = True,
                 include_deleted: bool = False) -> list[dict[str, Any]]:
    q = select(PaymentOrder).where(PaymentOrder.term_id == actor.term_id, PaymentOrder.kind == "group",
                                   in_scope(actor, PaymentOrder.site_id))
    if site_id:
        q = q.where(PaymentOrder.site_id == site_id)
    states = ["unpaid"] + (["paid"] if include_paid else []) + (["deleted"] if include_deleted else [])
    q = q.where(PaymentOrder.state.in_(states)).order_by(PaymentOrder.id.desc())
    return [{"id": o.id, "状态": STATE_LABELS[o.state], "考生数": o.candidate_count, "科次数": o.item_count,
             "代付科目代码": o.subject_codes or "", "总费用(元)": Decimal(str(o.amount)),
             "支付渠道": PROVIDERS[o.provider].label if o.provider in PROVIDERS else o.provider,
             "订单号": o.provider_ref or "", "缴费凭证号": o.payer_ref or "", "创建时间": o.created_at,
             "支付时间": o.paid_at, "删除原因": o.delete_reason or ""} for o in s.scalars(q)]


def refresh_candidate(s: Session, actor: Actor, enrollment_id: int) -> str:
    """更新考生支付状态 (§25.5): ask the provider about every unpaid order of this candidate."""
    e = s.scalar(select(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.term_id == actor.term_id,
                                          in_scope(actor, Enrollment.site_id)))
    if e is None:
        raise NotFound("考生不存在或不在您的管理范围内。")
    reg.site_for_write(s, actor, e.site_id, "更新支付状态")
    orders = list(s.scalars(select(PaymentOrder).where(PaymentOrder.state == "unpaid", PaymentOrder.id.in_(
        select(Registration.order_id).where(Registration.enrollment_id == e.id)))))
    n = sum(_refresh(s, o) for o in orders)
    paid = s.scalar(select(func.count()).select_from(Registration).where(Registration.enrollment_id == e.id,
                                                                          Registration.paid.is_(True)))
    total = s.scalar(select(func.count()).select_from(Registration).where(Registration.enrollment_id == e.id))
    audit(s, actor, "refresh", "考生支付状态", e.id, org_id=e.site_id, after={"updated": n},
          summary=f"更新考生支付状态：{e.name}，{n} 科次更新为已支付")
    return f"已向支付渠道查询 {len(orders)} 个未支付订单，{n} 科次更新为已支付；当前已支付 {paid}/{total} 科。"
