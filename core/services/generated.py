"""Generate-then-download (001 §33–36, §46–47, §50–51): a site's file of one kind is generated on demand,
kept in the file store, and downloaded later. The page shows when it was generated, its size, and warns
when the site's 报名/编排 data changed after generation (its fingerprint differs).

A kind is declared once in KINDS (title, operation window, whether the site must be fully arranged).
A builder is a plain function `build(s, actor, site, options, progress) -> Built`; the page and the CLI
pass it to `generate`, which checks who may generate, fingerprints the data, builds, stores and audits.
Only the site's own 考点管理员 generates and downloads (the files carry full ID numbers for printing);
upper levels see the status.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.errors import DomainError, NotFound, PermissionDenied
from core.models import Enrollment, ExamRoom, ExamSession, GeneratedFile, Org, Registration, Score, Violation
from core.services.base import audit, require_window, require_writable_term
from core.workflow import file_path, save_blob


@dataclass(frozen=True)
class Kind:
    title: str
    window: str | None = None  # operation window (001 §9) that must have started to download (§9: 考前资料下载时间);
    # generating is not restricted by the windows (§46.2, §47.2, §51.2), only by the arrangement
    needs_arranged: bool = True  # every registered subject arranged (and numbered) first


KINDS: dict[str, Kind] = {
    "room_stats": Kind("考场统计"),
    "tickets_small": Kind("考点小版准考证"),
    "tickets_large": Kind("考点大版准考证"),
    "photo_pack": Kind("照片包", "pre_exam_download"),
    "cbt_data": Kind("机考数据", "pre_exam_download"),
    "signin": Kind("考场签到表", "pre_exam_download"),
    "seating": Kind("考场座次表", "pre_exam_download"),
    "pregen_check": Kind("考生准考证生成情况检测报告"),
    # after the exam (§43, §52): downloads inside 考后资料下载时间; they need imported scores, not the arrangement
    "scores_dbf": Kind("成绩信息（DBF）", "post_exam_download", needs_arranged=False),
    "scores_csv": Kind("成绩信息（CSV）", "post_exam_download", needs_arranged=False),
    "cert_receipt": Kind("证书领取确认单", "post_exam_download", needs_arranged=False),
}


@dataclass
class Built:
    data: bytes
    filename: str
    rows: int = 0  # records in the file (candidates, tickets, rooms…)


@dataclass(frozen=True)
class GenInfo:
    kind: str
    title: str
    filename: str
    size: int
    rows: int
    generated_at: datetime
    generated_by: str | None
    options: dict
    stale: bool  # the data changed after generation

    @property
    def size_text(self) -> str:
        return human_size(self.size)

    @property
    def text(self) -> str:
        return (f"生成时间：{self.generated_at:%Y-%m-%d %H:%M:%S}　文件：{self.filename}　大小：{self.size_text}"
                f"　记录数：{self.rows}")


Progress = Callable[[float, str], None]
Builder = Callable[[Session, Actor, Org, Mapping[str, Any], Progress], Built]


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _noop(_f: float, _t: str) -> None:
    pass


def data_version(s: Session, term_id: int, site_id: int) -> str:
    """A fingerprint of the site's 报名/编排 data in the 考次: counts, last change times and placement sums
    of registrations, enrollments, rooms and sessions, and the site's own record (address). Any insert,
    delete or update of these changes it."""
    parts: list[Any] = []
    reg = s.execute(select(func.count(), func.max(Registration.updated_at), func.sum(Registration.session_id),
                           func.sum(Registration.seat_no), func.count(Registration.ticket_no),
                           func.sum(Registration.subject_id), func.sum(Registration.id))
                    .where(Registration.term_id == term_id, Registration.site_id == site_id)).one()
    parts += list(reg)
    parts += list(s.execute(select(func.count(), func.max(Enrollment.updated_at), func.sum(Enrollment.id))
                            .where(Enrollment.term_id == term_id, Enrollment.site_id == site_id)).one())
    for model, extra in ((ExamRoom, ()), (ExamSession, ()), (Violation, (func.sum(cast(Violation.code, Integer)),)),
                         (Score, (func.sum(Score.score), func.count(Score.cert_no), func.sum(func.length(Score.flag))))):
        # updated_at has whole seconds on SQLite: sums of the values catch a change within the same second
        parts += list(s.execute(select(func.count(), func.max(model.updated_at), func.sum(model.id), *extra)
                                .where(model.term_id == term_id, model.site_id == site_id)).one())
    parts += list(s.execute(select(Org.updated_at, Org.address, Org.name).where(Org.id == site_id)).one())
    return hashlib.sha256(repr([str(p) for p in parts]).encode()).hexdigest()[:32]


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise DomainError(f"未知的文件类型：{kind}")
    return KINDS[kind]


def _own_site(s: Session, actor: Actor, site_id: int, what: str) -> Org:
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    if actor.role != "site_admin" or actor.org_id != site.id:
        raise PermissionDenied(f"{what}由考点管理员在本考点生成和下载，上级机构只能查看生成情况。")
    return site


def _row(s: Session, term_id: int, site_id: int, kind: str) -> GeneratedFile | None:
    return s.scalar(select(GeneratedFile).where(GeneratedFile.term_id == term_id, GeneratedFile.site_id == site_id,
                                                GeneratedFile.kind == kind))


def generate(s: Session, actor: Actor, site_id: int, kind: str, build: Builder,
             options: Mapping[str, Any] | None = None, progress: Progress = _noop) -> GenInfo:
    """Build the site's file of `kind` now and keep it (replacing the previous one)."""
    k = _kind(kind)
    site = _own_site(s, actor, site_id, k.title)
    require_writable_term(actor)
    if k.needs_arranged:
        from core.services.arrangement import require_arranged
        require_arranged(s, actor.term_id, site.id)
    version = data_version(s, actor.term_id, site.id)
    opts = dict(options or {})
    built = build(s, actor, site, opts, progress)
    sha = save_blob(built.data)
    row = _row(s, actor.term_id, site.id, kind)
    if row is None:
        row = GeneratedFile(term_id=actor.term_id, site_id=site.id, kind=kind)
        s.add(row)
    row.filename, row.sha256, row.size, row.rows = built.filename, sha, len(built.data), built.rows
    row.options, row.data_version, row.generated_by = opts, version, actor.username
    row.generated_at = datetime.now().replace(microsecond=0)
    s.flush()
    audit(s, actor, "generate", "generated_file", row.id, org_id=site.id,
          summary=f"生成{k.title}：{built.filename}（{built.rows} 条，{human_size(len(built.data))}）")
    return _info(row, stale=False)


def _info(row: GeneratedFile, stale: bool) -> GenInfo:
    return GenInfo(kind=row.kind, title=KINDS[row.kind].title, filename=row.filename, size=row.size, rows=row.rows,
                   generated_at=row.generated_at, generated_by=row.generated_by, options=dict(row.options or {}),
                   stale=stale)


def generated_info(s: Session, actor: Actor, site_id: int, kind: str) -> GenInfo | None:
    """The last generated file of `kind` for the site in the viewed 考次 (None: not generated yet)."""
    _kind(kind)
    site = get_scoped_org(s, actor, site_id)
    row = _row(s, actor.term_id, site.id, kind)
    if row is None:
        return None
    return _info(row, stale=row.data_version != data_version(s, actor.term_id, site.id))


def download(s: Session, actor: Actor, site_id: int, kind: str) -> tuple[bytes, str]:
    """The stored file's bytes and name; audited as an export."""
    k = _kind(kind)
    site = _own_site(s, actor, site_id, k.title)
    if k.window and actor.term_is_current:
        require_window(s, actor, k.window)
    row = _row(s, actor.term_id, site.id, kind)
    if row is None:
        raise DomainError(f"{k.title}尚未生成，请先点击“生成”。")
    path = file_path(row.sha256)
    if not path.is_file():
        raise DomainError(f"{k.title}文件已丢失，请重新生成。")
    audit(s, actor, "export", "generated_file", row.id, org_id=site.id,
          summary=f"下载{k.title}：{row.filename}")
    return path.read_bytes(), row.filename
