"""分账账户管理 (001 §45): the site's bank account(s) for passing on the exam fees, per 考次.

The site's own 考点管理员 adds, edits and deletes its accounts in the current 考次 (§45.1; §9 names no
operation window for 分账管理, so only the 考次 rule applies); "获取上个考次数据" takes the accounts of the
most recent earlier 考次 that has any. Upper levels (考试中心/省/地市) pick a site in their scope and view.

The account number is personal/financial data: every list returns it masked (core.masking.mask_account),
the full number only reaches the site's own admin through `get_account` (the 修改 form) and
`previous_accounts` (to fill the 新增 form), and audit rows carry it masked.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.admin import FormErrors
from core.auth import Actor, get_scoped_org
from core.errors import DomainError, NotFound, PermissionDenied
from core.masking import mask_account
from core.models import ExamTerm, Org, SettlementAccount
from core.services.base import audit, require_writable_term

ENTITY = "分账账户"
ACCOUNT_TYPES: tuple[str, ...] = ("考点收费账户", "对公结算账户", "其他")
# form field key -> (Chinese label, required, max length)
FIELDS: dict[str, tuple[str, bool, int]] = {
    "bank_name": ("开户行", True, 100),
    "bank_code": ("银行行号", True, 12),
    "account_name": ("账户名称", True, 100),
    "account_no": ("账号", True, 32),
    "account_type": ("账号类型", True, 30),
    "remark": ("备注", False, 200),
}
BANK_CODE_LEN = 12
ACCOUNT_MIN, ACCOUNT_MAX = 8, 32
UPPER_NOTE = "分账账户由考点管理员在本考点维护；上级机构只能查看（账号已脱敏显示）。"
NOTE = ("分账账户信息用于报名完成后考试费用的下拨，请谨慎填写，确保数据正确。"
        "对应填写项如果不清楚，请咨询本单位财务部门。")


@dataclass(frozen=True)
class AccountView:
    id: int
    term_id: int
    site_id: int
    bank_name: str
    bank_code: str
    account_name: str
    account_no: str  # masked, except for the site's own admin in get_account / previous_accounts
    account_type: str
    remark: str
    updated_at: datetime | None

    @property
    def label(self) -> str:
        """How the account is named in pickers and messages (number always masked)."""
        return f"{self.bank_name}　{self.account_name}　{mask_account(self.account_no)}"

    def form_values(self) -> dict[str, str]:
        return {k: getattr(self, k) or "" for k in FIELDS}


@dataclass(frozen=True)
class PreviousAccounts:
    term_id: int
    term_name: str
    accounts: list[AccountView]


@dataclass(frozen=True)
class CopyResult:
    term_name: str
    added: int
    skipped: list[str]  # masked numbers already in this 考次


# ---------------------------------------------------------------- validation (pure)
def _digits(v: str) -> str:
    """Full-width digits and spaces (also full-width) as typed from a bank card: NFKC, spaces removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", v))


def check_account(data: Mapping[str, Any]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Clean a submitted form: (values, errors) where errors maps a field key to its Chinese message.
    Pure (no database): the page calls it to show every field's message, the services call `clean_account`."""
    out: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    for key, (label, required, max_len) in FIELDS.items():
        raw = data.get(key)
        v = "" if raw is None else str(raw).strip()
        if key in ("bank_code", "account_no"):
            v = _digits(v)
        if not v:
            if required:
                errors[key] = f"请{'选择' if key == 'account_type' else '填写'}{label}。"
            out[key] = None
            continue
        if key == "bank_code":
            if not v.isascii() or not v.isdigit():
                errors[key] = f"{label}只能由数字组成（{BANK_CODE_LEN} 位），当前填写的是“{v[:20]}”。"
            elif len(v) != BANK_CODE_LEN:
                errors[key] = f"{label}应为 {BANK_CODE_LEN} 位数字，当前为 {len(v)} 位。"
        elif key == "account_no":
            if not v.isascii() or not v.isdigit():
                errors[key] = f"{label}只能由数字组成（可含空格，保存时去掉），不能含字母、横线或其他符号。"
            elif not ACCOUNT_MIN <= len(v) <= ACCOUNT_MAX:
                errors[key] = f"{label}应为 {ACCOUNT_MIN}–{ACCOUNT_MAX} 位数字，当前为 {len(v)} 位。"
        elif key == "account_type":
            if v not in ACCOUNT_TYPES:
                errors[key] = f"{label}“{v[:30]}”无效，请从下列选项中选择：{'、'.join(ACCOUNT_TYPES)}。"
        elif len(v) > max_len:
            errors[key] = f"{label}过长（最多 {max_len} 个字符，当前 {len(v)} 个）。"
        out[key] = v
    return out, errors


def clean_account(data: Mapping[str, Any]) -> dict[str, str | None]:
    """The cleaned values, or FormErrors (field key -> message) naming every bad field."""
    values, errors = check_account(data)
    if errors:
        raise FormErrors(errors)
    return values


# ---------------------------------------------------------------- access
def _site(s: Session, actor: Actor, site_id: int) -> Org:
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    return site


def is_own(actor: Actor, site_id: int) -> bool:
    return actor.role == "site_admin" and actor.org_id == site_id


def _writer(s: Session, actor: Actor, site_id: int) -> Org:
    site = _site(s, actor, site_id)
    if not is_own(actor, site.id):
        raise PermissionDenied(UPPER_NOTE)
    require_writable_term(actor)
    return site


def can_edit(actor: Actor, site_id: int) -> bool:
    """Whether the page shows 新增/修改/删除 (the services check again)."""
    return is_own(actor, site_id) and actor.term_is_current and actor.term_id is not None


def _view(a: SettlementAccount, full: bool) -> AccountView:
    return AccountView(a.id, a.term_id, a.site_id, a.bank_name, a.bank_code, a.account_name,
                       a.account_no if full else mask_account(a.account_no), a.account_type, a.remark or "",
                       a.updated_at)


def _audit_record(a: SettlementAccount | Mapping[str, Any]) -> dict[str, Any]:
    get = (lambda k: a.get(k)) if isinstance(a, Mapping) else (lambda k: getattr(a, k))
    rec = {k: get(k) for k in FIELDS}
    rec["account_no"] = mask_account(rec["account_no"])
    return rec


def _for_write(s: Session, actor: Actor, account_id: int) -> tuple[SettlementAccount, Org]:
    a = s.get(SettlementAccount, account_id)
    if a is None or a.term_id != actor.term_id:
        raise NotFound("分账账户不存在（可能已被删除），请刷新页面。")
    _site(s, actor, a.site_id)  # out of scope: "not found"
    site = _writer(s, actor, a.site_id)
    return a, site


def _unique(s: Session, site_id: int, term_id: int, account_no: str, except_id: int | None = None) -> None:
    q = select(SettlementAccount.id).where(SettlementAccount.site_id == site_id,
                                           SettlementAccount.term_id == term_id,
                                           SettlementAccount.account_no == account_no)
    if except_id is not None:
        q = q.where(SettlementAccount.id != except_id)
    if s.scalar(q.limit(1)) is not None:
        raise FormErrors({"account_no": f"账号 {mask_account(account_no)} 在本考次已登记，不能重复添加。"})


# ---------------------------------------------------------------- reads
def list_accounts(s: Session, actor: Actor, site_id: int) -> list[AccountView]:
    """The site's accounts in the viewed 考次, account numbers masked (every level, the site too)."""
    site = _site(s, actor, site_id)
    rows = s.scalars(select(SettlementAccount).where(SettlementAccount.site_id == site.id,
                                                     SettlementAccount.term_id == actor.term_id)
                     .order_by(SettlementAccount.id))
    return [_view(a, full=False) for a in rows]


def get_account(s: Session, actor: Actor, account_id: int) -> AccountView:
    """One account of the viewed 考次: the full number for the site's own admin (the 修改 form), masked for
    anyone else."""
    a = s.get(SettlementAccount, account_id)
    if a is None or a.term_id != actor.term_id:
        raise NotFound("分账账户不存在（可能已被删除），请刷新页面。")
    site = _site(s, actor, a.site_id)
    return _view(a, full=is_own(actor, site.id))


def _term_order_key(t: ExamTerm) -> tuple[datetime, int]:
    return (t.exam_start or datetime.min, t.id)


def previous_accounts(s: Session, actor: Actor, site_id: int) -> PreviousAccounts | None:
    """获取上个考次数据: the site's accounts in the most recent 考次 before the viewed one that has any
    (None when no earlier 考次 has one). Full numbers for the site's own admin (they fill its 新增 form)."""
    site = _site(s, actor, site_id)
    terms = list(s.scalars(select(ExamTerm)))
    cur = next((t for t in terms if t.id == actor.term_id), None)
    if cur is None:
        raise NotFound("考次不存在。")
    earlier = sorted((t for t in terms if _term_order_key(t) < _term_order_key(cur)), key=_term_order_key,
                     reverse=True)
    if not earlier:
        return None
    have = set(s.scalars(select(SettlementAccount.term_id).distinct()
                         .where(SettlementAccount.site_id == site.id,
                                SettlementAccount.term_id.in_([t.id for t in earlier]))))
    term = next((t for t in earlier if t.id in have), None)
    if term is None:
        return None
    rows = s.scalars(select(SettlementAccount).where(SettlementAccount.site_id == site.id,
                                                     SettlementAccount.term_id == term.id)
                     .order_by(SettlementAccount.id))
    return PreviousAccounts(term.id, term.name, [_view(a, full=is_own(actor, site.id)) for a in rows])


NO_PREVIOUS = "本考点在以前的考次没有登记分账账户，无法获取上个考次数据，请直接填写。"


# ---------------------------------------------------------------- writes
def add_account(s: Session, actor: Actor, site_id: int, data: Mapping[str, Any]) -> int:
    """新增: returns the new account's id."""
    site = _writer(s, actor, site_id)
    v = clean_account(data)
    _unique(s, site.id, actor.term_id, v["account_no"])
    a = SettlementAccount(term_id=actor.term_id, site_id=site.id, **v)
    s.add(a)
    s.flush()
    audit(s, actor, "create", ENTITY, a.id, org_id=site.id,
          summary=f"新增分账账户：{v['bank_name']} {v['account_name']} {mask_account(v['account_no'])}",
          after=_audit_record(v))
    return a.id


def edit_account(s: Session, actor: Actor, account_id: int, data: Mapping[str, Any]) -> None:
    """修改."""
    a, site = _for_write(s, actor, account_id)
    v = clean_account(data)
    _unique(s, site.id, actor.term_id, v["account_no"], except_id=a.id)
    before = _audit_record(a)
    for k, x in v.items():
        setattr(a, k, x)
    s.flush()
    audit(s, actor, "update", ENTITY, a.id, org_id=site.id,
          summary=f"修改分账账户：{v['bank_name']} {v['account_name']} {mask_account(v['account_no'])}",
          before=before, after=_audit_record(v))


def delete_account(s: Session, actor: Actor, account_id: int) -> None:
    """删除."""
    a, site = _for_write(s, actor, account_id)
    before = _audit_record(a)
    s.delete(a)
    s.flush()
    audit(s, actor, "delete", ENTITY, account_id, org_id=site.id,
          summary=f"删除分账账户：{before['bank_name']} {before['account_name']} {before['account_no']}",
          before=before)


def copy_previous(s: Session, actor: Actor, site_id: int) -> CopyResult:
    """获取上个考次数据 and add them directly: every account of the most recent earlier 考次 that has any,
    except numbers already registered in this 考次 (reported as skipped). Refused when there is nothing
    to take or everything is already here."""
    site = _writer(s, actor, site_id)
    prev = previous_accounts(s, actor, site.id)
    if prev is None or not prev.accounts:
        raise DomainError(NO_PREVIOUS)
    have = set(s.scalars(select(SettlementAccount.account_no).where(SettlementAccount.site_id == site.id,
                                                                    SettlementAccount.term_id == actor.term_id)))
    added, skipped = 0, []
    for p in prev.accounts:
        if p.account_no in have:
            skipped.append(mask_account(p.account_no))
            continue
        try:
            v = clean_account(p.form_values())
        except FormErrors as e:  # an old row that no longer passes today's rules: fix it by hand
            raise DomainError(f"上个考次（{prev.term_name}）的账户 {p.label} 不符合现行填写要求："
                              f"{next(iter(e.errors.values()))}请通过“新增”手工填写。") from e
        a = SettlementAccount(term_id=actor.term_id, site_id=site.id, **v)
        s.add(a)
        s.flush()
        have.add(p.account_no)
        added += 1
        audit(s, actor, "create", ENTITY, a.id, org_id=site.id,
              summary=f"从上个考次（{prev.term_name}）复制分账账户：{v['bank_name']} {v['account_name']} "
                      f"{mask_account(v['account_no'])}", after=_audit_record(v))
    if not added:
        raise DomainError(f"上个考次（{prev.term_name}）的 {len(skipped)} 个分账账户在本考次均已存在，无需重复获取。")
    return CopyResult(prev.term_name, added, skipped)
