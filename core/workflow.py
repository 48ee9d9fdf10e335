"""THE application/review workflow: one state machine for every 申请/审核 flow in the manuals.

A flow is a `WorkflowSpec` (states, initial state, transitions with roles and "reason required").
`submit` is idempotent per (kind, subject_key); `transition` checks role, from-state, scope and an
optimistic version, then writes an ApplicationEvent and an audit row. Uploads (`store_file`) are
checked by content and kept in the file store keyed by SHA-256.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path, PurePath
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org, in_scope, role_label
from core.config import LIMITS, file_store_dir
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.models import Application, ApplicationEvent, Attachment, Org
from core.services.base import audit, jsonable

MAX_REASON_LEN = 500
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000  # decompression-bomb guard (a 4000×10000 image)


class StaleVersion(DomainError):
    """Someone else changed the application since it was read (concurrent review)."""


@dataclass(frozen=True)
class Transition:
    """`action` moves an application from any of `from_states` to `to_state`; only `roles` may do it."""

    action: str
    from_states: tuple[str, ...]
    to_state: str
    roles: tuple[str, ...]
    needs_reason: bool = False
    label: str = ""  # button text, e.g. 审核通过

    @property
    def title(self) -> str:
        return self.label or self.action


@dataclass(frozen=True, eq=False)
class WorkflowSpec:
    """One flow. `reopen_states`: submitting again from these states reopens the same application
    with the new data (one application per subject_key, ever). `on_transition` runs after each
    transition in the same transaction (e.g. apply an approved change)."""

    kind: str
    title: str
    states: Mapping[str, str]
    initial: str
    transitions: Sequence[Transition]
    submit_roles: tuple[str, ...] | None = None
    reopen_states: tuple[str, ...] = ()
    on_transition: Callable[[Session, Actor, Application, Transition], None] | None = None
    _by_action: dict[str, Transition] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if self.initial not in self.states:
            problems.append(f"initial {self.initial} 不在 states 中")
        for t in self.transitions:
            if t.action in self._by_action or t.action in ("submit", "resubmit"):
                problems.append(f"动作 {t.action} 重复或为保留字")
            if t.to_state not in self.states or any(f not in self.states for f in t.from_states):
                problems.append(f"动作 {t.action} 引用了未知状态")
            if not t.roles:
                problems.append(f"动作 {t.action} 没有角色")
            self._by_action[t.action] = t
        if any(st not in self.states for st in self.reopen_states):
            problems.append("reopen_states 含未知状态")
        if len(self.kind) > 40:
            problems.append("kind 超过 40 个字符")
        if any(len(code) > 30 for code in [*self.states, *(t.action for t in self.transitions)]):
            problems.append("状态或动作代码超过 30 个字符")
        if problems:
            raise ValueError(f"WorkflowSpec {self.kind}: " + "；".join(problems))

    def transition_for(self, action: str) -> Transition:
        t = self._by_action.get(action)
        if t is None:
            raise ValidationError(f"未知的操作“{action}”。")
        return t

    def state_label(self, state: str | None) -> str:
        return self.states.get(state or "", state or "")


# ---------------------------------------------------------------- queries (scoped)
def _visible(actor: Actor):
    """An application is visible to whoever sees its applicant org or its reviewer org."""
    return or_(in_scope(actor, Application.org_id), in_scope(actor, Application.reviewer_org_id))


def get_application(s: Session, actor: Actor, app_id: int, spec: WorkflowSpec | None = None) -> Application:
    """An application the actor may see; anything else is 'not found'."""
    q = select(Application).where(Application.id == app_id, _visible(actor))
    if spec is not None:
        q = q.where(Application.kind == spec.kind)
    app = s.scalar(q.execution_options(populate_existing=True))
    if app is None:
        raise NotFound("申请不存在或不在您的管理范围内。")
    return app


def _filtered(q, actor: Actor, spec: WorkflowSpec, state: str | None, org_id: int | None, search: str | None):
    q = q.where(Application.kind == spec.kind, _visible(actor))
    if state:
        q = q.where(Application.state == state)
    if org_id is not None:
        q = q.where(Application.org_id == org_id)
    if search:
        q = q.where(Application.subject_key.contains(search.strip(), autoescape=True))
    return q


def list_applications(s: Session, actor: Actor, spec: WorkflowSpec, state: str | None = None, *,
                      org_id: int | None = None, search: str | None = None, limit: int | None = LIMITS.page_size,
                      offset: int = 0) -> list[Application]:
    """The actor's applications of this flow, newest first, paged in SQL."""
    q = _filtered(select(Application), actor, spec, state, org_id, search)
    q = q.order_by(Application.updated_at.desc(), Application.id.desc()).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(s.scalars(q))


def count_applications(s: Session, actor: Actor, spec: WorkflowSpec, state: str | None = None, *,
                       org_id: int | None = None, search: str | None = None) -> int:
    q = _filtered(select(func.count()).select_from(Application), actor, spec, state, org_id, search)
    return int(s.scalar(q) or 0)


def history(s: Session, actor: Actor, app_id: int) -> list[ApplicationEvent]:
    """The application's events, oldest first."""
    get_application(s, actor, app_id)
    return list(s.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == app_id)
                          .order_by(ApplicationEvent.at, ApplicationEvent.id)))


def attachments(s: Session, actor: Actor, app_id: int) -> list[Attachment]:
    get_application(s, actor, app_id)
    return list(s.scalars(select(Attachment).where(Attachment.application_id == app_id).order_by(Attachment.id)))


def available_actions(actor: Actor, spec: WorkflowSpec, app: Application) -> list[Transition]:
    """The transitions this actor may take now (for buttons)."""
    return [t for t in spec.transitions if app.state in t.from_states and actor.role in t.roles]


# ---------------------------------------------------------------- submit / transition
def _event(s: Session, actor: Actor, app: Application, action: str, from_state: str | None, to_state: str,
           reason: str | None = None) -> None:
    s.add(ApplicationEvent(application_id=app.id, action=action, from_state=from_state, to_state=to_state,
                           actor_id=actor.user_id, actor_name=f"{actor.name}（{actor.org_name}）"[:100],
                           reason=reason))


def _attach(s: Session, actor: Actor, app: Application, items: Sequence[Attachment | int]) -> None:
    """Link the actor's own, not yet linked uploads to the application."""
    for item in items:
        att = item if isinstance(item, Attachment) else s.get(Attachment, item)
        if att is None or att.uploaded_by != actor.user_id or att.application_id not in (None, app.id):
            raise PermissionDenied("只能提交本人上传的附件。")
        att.application_id = app.id


def _clean_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    return {str(k): jsonable(v) for k, v in (data or {}).items()}


def submit(s: Session, actor: Actor, spec: WorkflowSpec, subject_key: str, org_id: int,
           reviewer_org_id: int | None, data: Mapping[str, Any] | None = None,
           attachments: Sequence[Attachment | int] = ()) -> Application:
    """Create the application for (spec.kind, subject_key), or return the existing one.

    Idempotent and race-safe: a concurrent submit of the same key hits the unique constraint
    inside a SAVEPOINT and returns the application the other transaction created. An existing
    application in one of `spec.reopen_states` is reopened with the new data.
    """
    if spec.submit_roles and actor.role not in spec.submit_roles:
        raise PermissionDenied(f"{spec.title}仅限{'、'.join(role_label(r) for r in spec.submit_roles)}提交。")
    subject_key = (subject_key or "").strip()
    if not subject_key or len(subject_key) > 120:
        raise ValidationError("申请对象标识不能为空且不超过 120 个字符。")
    get_scoped_org(s, actor, org_id)
    if reviewer_org_id is not None and s.get(Org, reviewer_org_id) is None:
        raise NotFound("审核机构不存在。")
    existing = _existing(s, spec, subject_key)
    if existing is None:
        try:
            with s.begin_nested():
                app = Application(kind=spec.kind, subject_key=subject_key, org_id=org_id,
                                  reviewer_org_id=reviewer_org_id, term_id=actor.term_id, state=spec.initial,
                                  data=_clean_data(data), applicant_id=actor.user_id, version=1)
                s.add(app)
                s.flush()
        except IntegrityError:
            existing = _existing(s, spec, subject_key)
            if existing is None:
                raise
        else:
            _attach(s, actor, app, attachments)
            _event(s, actor, app, "submit", None, spec.initial)
            audit(s, actor, "submit", spec.title, app.id, org_id=org_id,
                  after={"subject_key": subject_key, "state": spec.initial, "data": app.data},
                  summary=f"提交{spec.title}：{subject_key}")
            s.flush()
            return app
    if not s.scalar(select(func.count()).select_from(Application)
                    .where(Application.id == existing.id, _visible(actor))):
        raise DomainError(f"“{subject_key}”已有{spec.title}（由其他机构提交），不能重复申请。")
    if existing.state in spec.reopen_states:
        return _reopen(s, actor, spec, existing, org_id, reviewer_org_id, data, attachments)
    return existing


def _existing(s: Session, spec: WorkflowSpec, subject_key: str) -> Application | None:
    return s.scalar(select(Application).where(Application.kind == spec.kind,
                                              Application.subject_key == subject_key))


def _reopen(s: Session, actor: Actor, spec: WorkflowSpec, app: Application, org_id: int,
            reviewer_org_id: int | None, data: Mapping[str, Any] | None,
            items: Sequence[Attachment | int]) -> Application:
    before = app.state
    _bump(s, app, app.version, state=spec.initial, data=_clean_data(data), org_id=org_id,
          reviewer_org_id=reviewer_org_id, applicant_id=actor.user_id)
    _attach(s, actor, app, items)
    _event(s, actor, app, "resubmit", before, spec.initial)
    audit(s, actor, "resubmit", spec.title, app.id, org_id=org_id, before={"state": before},
          after={"state": spec.initial, "data": app.data}, summary=f"重新提交{spec.title}：{app.subject_key}")
    s.flush()
    return app


def _bump(s: Session, app: Application, version: int, **values: Any) -> None:
    """Conditional UPDATE ... WHERE version = :read_version; zero rows means someone was faster."""
    res = s.execute(update(Application).where(Application.id == app.id, Application.version == version)
                    .values(version=version + 1, updated_at=func.now(), **values)
                    .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        s.expire(app)
        raise StaleVersion("该申请已被他人处理，请刷新后查看最新状态。")
    s.expire(app)


def transition(s: Session, actor: Actor, spec: WorkflowSpec, app_id: int, action: str,
               reason: str | None = None, expected_version: int | None = None) -> Application:
    """Take `action` on an application: role, from-state, scope, reason and version are checked."""
    t = spec.transition_for(action)
    app = get_application(s, actor, app_id, spec)
    if actor.role not in t.roles:
        raise PermissionDenied(f"“{t.title}”仅限{'、'.join(role_label(r) for r in t.roles)}操作。")
    if expected_version is not None and app.version != expected_version:
        raise StaleVersion(f"该申请已被他人处理（当前状态：{spec.state_label(app.state)}），请刷新后重试。")
    if app.state not in t.from_states:
        raise DomainError(f"申请当前状态为“{spec.state_label(app.state)}”，不能{t.title}。")
    reason = (reason or "").strip() or None
    if t.needs_reason and not reason:
        raise ValidationError(f"{t.title}必须填写原因。", "原因")
    if reason and len(reason) > MAX_REASON_LEN:
        raise ValidationError(f"原因不能超过 {MAX_REASON_LEN} 个字符。", "原因")
    before = app.state
    _bump(s, app, app.version, state=t.to_state)
    _event(s, actor, app, t.action, before, t.to_state, reason)
    audit(s, actor, t.action, spec.title, app.id, org_id=app.org_id, before={"state": before},
          after={"state": t.to_state, "reason": reason},
          summary=f"{t.title}：{app.subject_key}（{spec.state_label(before)} → {spec.state_label(t.to_state)}）"
                  + (f"，原因：{reason}" if reason else ""))
    s.flush()
    if spec.on_transition:
        spec.on_transition(s, actor, app, t)
    return app


def submit_many(s: Session, actor: Actor, spec: WorkflowSpec, items: Mapping[str, int],
                reviewer_org_id: int | None = None) -> dict[str, int]:
    """Bulk `submit`: {subject_key: org_id} -> {subject_key: application id}, set-based (one INSERT for
    the new ones, one UPDATE for those reopened from `spec.reopen_states`, events in bulk, ONE audit row).
    The caller has already checked scope for every org_id. Existing applications in other states are
    returned unchanged (idempotent)."""
    if spec.submit_roles and actor.role not in spec.submit_roles:
        raise PermissionDenied(f"{spec.title}仅限{'、'.join(role_label(r) for r in spec.submit_roles)}提交。")
    if not items:
        return {}
    keys = list(items)
    existing: dict[str, tuple[int, str]] = {}
    for i in range(0, len(keys), 900):
        chunk = keys[i:i + 900]
        existing.update({k: (aid, st) for aid, k, st in s.execute(
            select(Application.id, Application.subject_key, Application.state)
            .where(Application.kind == spec.kind, Application.subject_key.in_(chunk)))})
    new_keys = [k for k in keys if k not in existing]
    reopen = [existing[k][0] for k in keys if k in existing and existing[k][1] in spec.reopen_states]
    events: list[dict[str, Any]] = []
    name = f"{actor.name}（{actor.org_name}）"[:100]
    if new_keys:
        t = Application.__table__  # Core insert RETURNING the key: batched on every driver
        rows = s.execute(insert(t).returning(t.c.id, t.c.subject_key),
                         [dict(kind=spec.kind, subject_key=k, org_id=items[k], reviewer_org_id=reviewer_org_id,
                               term_id=actor.term_id, state=spec.initial, data={}, applicant_id=actor.user_id,
                               version=1) for k in new_keys]).all()
        for aid, k in rows:
            existing[k] = (aid, spec.initial)
            events.append(dict(application_id=aid, action="submit", from_state=None, to_state=spec.initial,
                               actor_id=actor.user_id, actor_name=name))
    if reopen:
        before = {aid: st for aid, st in existing.values() if aid in set(reopen)}
        for i in range(0, len(reopen), 900):
            s.execute(update(Application).where(Application.id.in_(reopen[i:i + 900]))
                      .values(state=spec.initial, version=Application.version + 1, updated_at=func.now(),
                              applicant_id=actor.user_id).execution_options(synchronize_session=False))
        events += [dict(application_id=aid, action="resubmit", from_state=before[aid], to_state=spec.initial,
                        actor_id=actor.user_id, actor_name=name) for aid in reopen]
    if events:
        s.execute(insert(ApplicationEvent), events)
        audit(s, actor, "submit", spec.title, None, after={"new": len(new_keys), "reopened": len(reopen)},
              summary=f"批量提交{spec.title}：新提交 {len(new_keys)} 个，重新提交 {len(reopen)} 个")
    return {k: existing[k][0] for k in keys}


def transition_many(s: Session, actor: Actor, spec: WorkflowSpec, app_ids: Sequence[int], action: str,
                    reason: str | None = None) -> list[int]:
    """Bulk `transition` (批量审核): the same checks as `transition`, applied set-based. Applications
    not in scope or not in a from-state are skipped. Returns the ids that moved; ONE audit row."""
    t = spec.transition_for(action)
    if actor.role not in t.roles:
        raise PermissionDenied(f"“{t.title}”仅限{'、'.join(role_label(r) for r in t.roles)}操作。")
    reason = (reason or "").strip() or None
    if t.needs_reason and not reason:
        raise ValidationError(f"{t.title}必须填写原因。", "原因")
    if reason and len(reason) > MAX_REASON_LEN:
        raise ValidationError(f"原因不能超过 {MAX_REASON_LEN} 个字符。", "原因")
    moved: list[tuple[int, str]] = []
    ids = list(dict.fromkeys(app_ids))
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        rows = s.execute(select(Application.id, Application.state).where(
            Application.id.in_(chunk), Application.kind == spec.kind, Application.state.in_(t.from_states),
            _visible(actor))).all()
        if not rows:
            continue
        res = s.execute(update(Application).where(Application.id.in_([r[0] for r in rows]),
                                                  Application.state.in_(t.from_states))
                        .values(state=t.to_state, version=Application.version + 1, updated_at=func.now())
                        .execution_options(synchronize_session=False))
        if res.rowcount != len(rows):
            raise StaleVersion("部分申请已被他人处理，本次未做任何修改；请刷新后重试。")
        moved += [(r[0], r[1]) for r in rows]
    if moved:
        name = f"{actor.name}（{actor.org_name}）"[:100]
        s.execute(insert(ApplicationEvent), [dict(application_id=aid, action=t.action, from_state=st,
                                                  to_state=t.to_state, actor_id=actor.user_id, actor_name=name,
                                                  reason=reason) for aid, st in moved])
        audit(s, actor, t.action, spec.title, None, after={"count": len(moved), "state": t.to_state,
                                                            "reason": reason,
                                                            "ids": [aid for aid, _ in moved[:1000]]},
              summary=f"批量{t.title}：{len(moved)} 个" + (f"，原因：{reason}" if reason else ""))
    return [aid for aid, _ in moved]


# ---------------------------------------------------------------- attachments
_MAGIC: list[tuple[str, Callable[[bytes], bool]]] = [
    ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("application/pdf", lambda b: b.startswith(b"%PDF-")),
]
MIME_LABELS = {"image/jpeg": "JPEG 图片（.jpg）", "image/png": "PNG 图片", "image/gif": "GIF 图片",
               "image/webp": "WebP 图片", "application/pdf": "PDF 文件"}
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def sniff_mime(data: bytes) -> str | None:
    """The type by magic bytes, or None."""
    return next((mime for mime, test in _MAGIC if test(data)), None)


def _check_image(data: bytes, mime: str, max_pixels: int) -> None:
    """Header + size + Image.verify(); Pillow refuses bombs above 2×MAX_IMAGE_PIXELS at open,
    and we refuse anything above min(max_pixels, MAX_IMAGE_PIXELS) before decoding a pixel."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != _PIL_FORMAT[mime]:
                raise ValidationError("图片内容与类型不符。", "附件")
            w, h = img.size
            if w * h > min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels):
                raise ValidationError(f"图片尺寸过大（{w}×{h}），请缩小后再上传。", "附件")
            img.verify()
    except Image.DecompressionBombError:
        raise ValidationError("图片尺寸过大，请缩小后再上传。", "附件") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("图片已损坏或不是有效的图片文件。", "附件") from None


def _safe_filename(filename: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip() or "附件"
    return name[-200:]


def file_path(digest: str) -> Path:
    """Where a stored file lives: <store>/ab/cd/<sha256>."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError("invalid sha256")
    return file_store_dir() / digest[:2] / digest[2:4] / digest


def save_blob(data: bytes) -> str:
    """Write already-checked bytes to the content-addressed file store (atomically); returns the SHA-256."""
    digest = sha256(data).hexdigest()
    path = file_path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return digest


def store_file(s: Session, actor: Actor, data: bytes, filename: str, allowed: Sequence[str] = ("image/jpeg",),
               max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS) -> Attachment:
    """Check an upload by its CONTENT and keep it (content-addressed). Returns the new Attachment,
    not yet linked to an application (pass it to `submit`)."""
    allowed_text = "、".join(MIME_LABELS.get(m, m) for m in allowed)
    if not data:
        raise ValidationError("文件为空。", "附件")
    if len(data) > max_bytes:
        raise ValidationError(f"文件过大（{len(data) / 1024 / 1024:.2f} MB），不能超过 "
                              f"{max_bytes / 1024 / 1024:.2f} MB。", "附件")
    mime = sniff_mime(data)
    if mime is None:
        raise ValidationError(f"文件内容不是可识别的类型，只接受{allowed_text}。", "附件")
    if mime not in allowed:
        raise ValidationError(f"文件内容是{MIME_LABELS.get(mime, mime)}，只接受{allowed_text}。", "附件")
    if mime in _PIL_FORMAT:
        _check_image(data, mime, max_pixels)
    elif mime == "application/pdf" and b"%%EOF" not in data[-2048:]:
        raise ValidationError("PDF 文件不完整或已损坏。", "附件")
    digest = save_blob(data)
    att = Attachment(sha256=digest, filename=_safe_filename(filename), mime=mime, size=len(data),
                     uploaded_by=actor.user_id)
    s.add(att)
    s.flush()
    audit(s, actor, "upload", "附件", att.id, summary=f"上传附件 {att.filename}（{att.size} 字节）")
    return att


def read_attachment(s: Session, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
    """An attachment and its bytes: via a visible application, or the uploader's own unlinked file."""
    att = s.get(Attachment, attachment_id)
    if att is None:
        raise NotFound("附件不存在。")
    if att.application_id is not None:
        get_application(s, actor, att.application_id)
    elif att.uploaded_by != actor.user_id:
        raise NotFound("附件不存在。")
    path = file_path(att.sha256)
    if not path.exists():
        raise NotFound("附件文件已丢失，请联系管理员。")
    return att, path.read_bytes()
