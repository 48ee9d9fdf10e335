"""Masking of personal data (身份证号、手机号、银行账号、邮箱).

Masking happens on the server, in the service that returns rows (core.services.listing), never in
a page: a page only ever receives the masked value. No streamlit here.
"""
from __future__ import annotations

from typing import Any, Callable

STAR = "*"


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s


def mask_id(v: Any) -> Any:
    """身份证号/证件号: first 3 and last 4 visible, e.g. 110101199001011234 -> 110***********1234."""
    s = _text(v)
    if not s:
        return v
    if len(s) <= 4:
        return STAR * len(s)
    if len(s) <= 8:
        return s[0] + STAR * (len(s) - 2) + s[-1]
    return s[:3] + STAR * (len(s) - 7) + s[-4:]


def id_last4(v: Any) -> Any:
    """Only the last 4 characters of an ID number (some manual exports carry just these)."""
    s = _text(v)
    if not s:
        return v
    return s[-4:]


def mask_phone(v: Any) -> Any:
    """手机号: 13812345678 -> 138****5678; other numbers keep the first 3 and last 4 characters."""
    s = _text(v)
    if not s:
        return v
    if len(s) <= 4:
        return STAR * len(s)
    if len(s) <= 7:
        return s[0] + STAR * (len(s) - 2) + s[-1]
    return s[:3] + STAR * 4 + s[-4:]


def mask_account(v: Any) -> Any:
    """银行账号: only the last 4 digits are visible, and the length is not revealed: ****0123."""
    s = _text(v)
    if not s:
        return v
    digits = s.replace(" ", "")
    if len(digits) <= 4:
        return STAR * len(digits)
    return STAR * 4 + digits[-4:]


def mask_email(v: Any) -> Any:
    """邮箱: zhangsan@example.com -> z***n@example.com (the domain stays readable)."""
    s = _text(v)
    if not s:
        return v
    local, at, domain = s.partition("@")
    if not at:
        return mask_phone(s)
    if len(local) <= 2:
        masked = local[:1] + STAR * 3
    else:
        masked = local[0] + STAR * 3 + local[-1]
    return f"{masked}@{domain}"


# keys of a stored record (audit before/after) that hold personal or account data
RECORD_KEYS: dict[str, Callable[[Any], Any]] = {
    "phone": mask_phone, "mobile": mask_phone, "id_number": mask_id, "account": mask_account,
    "account_no": mask_account, "email": mask_email,
}


def mask_record(v: Any) -> Any:
    """Mask the personal fields of a record (a dict, e.g. an audit row's before/after), recursively."""
    if isinstance(v, dict):
        return {k: (RECORD_KEYS[k](x) if k in RECORD_KEYS and x is not None and not isinstance(x, (dict, list))
                    else mask_record(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [mask_record(x) for x in v]
    return v


MASKERS: dict[str, Callable[[Any], Any]] = {
    "id": mask_id,
    "phone": mask_phone,
    "account": mask_account,
    "record": mask_record,
    "email": mask_email,
}


def apply_mask(kind: str | None, v: Any) -> Any:
    """Mask `v` with the masker named `kind` ("id", "phone", "account", "email"); None leaves it."""
    if kind is None or v is None:
        return v
    return MASKERS[kind](v)
