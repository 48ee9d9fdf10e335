"""考生照片导入 (001 §23) and 考生照片检测 (001 §24).

The site's photo directory of a 考次 is `CandidatePhoto` (term × site × 证件号码 -> sha256 in the
content-addressed file store); `Enrollment.photo_sha256` links a 报名信息 to its photo (NULL = 无照片).

§23 import_photos: a ZIP of `<证件号码>.jpg` (any folders). "只导入正确的，提示错误的": every good photo
is stored, every bad one is reported (file, 证件号码, message) — one row per file. Only the site's own
administrator, inside the site's 报名管理时间, in the current 考次. Bulk work: one query for the
site's enrollments, one for its photo directory, bulk inserts/updates, one audit row.

§24 check_photos: re-links 报名信息 without a photo to the directory photo of the same 证件号码 (they
lose the link when the 报名信息 is deleted and re-imported, §24.2); never touches a candidate who has
paid (§24.3) or whose photo was rejected (must re-upload). Lists 重新关联 / 无照片考生 / 未匹配照片;
`delete_unmatched_photos` removes the directory rows no 报名信息 matches. Not limited by the window,
but a past 考次 is read-only. `photo_status` is the same report without writing (upper levels, past 考次).
"""
from __future__ import annotations

import io
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.auth import Actor, get_scoped_org
from core.config import LIMITS
from core.errors import DomainError, PermissionDenied, ValidationError
from core.exports.tabular import write_xlsx
from core.imports.archive import MemberError, ZipMember, open_zip
from core.masking import mask_id
from core.models import CandidatePhoto, Enrollment, Org, Registration
from core.services.base import audit, require_window, require_writable_term
from core.workflow import MIME_LABELS, file_path, save_blob, sniff_mime

# ---------------------------------------------------------------- limits
MAX_ZIP_MB = 300  # the uploaded ZIP (10,000 photos of ~20 KB is ~200 MB)
MAX_PHOTOS = 20_000  # files in one ZIP
MAX_PHOTO_BYTES = 2 * 1024 * 1024
MIN_WIDTH, MIN_HEIGHT = 90, 120  # smaller cannot be recognised on a 准考证
MAX_WIDTH, MAX_HEIGHT = 4000, 6000
MAX_PIXELS = 16_000_000  # refused from the header, before a pixel is decoded (decompression bomb)
# 证件照 heuristic (勾选则需要检测): NOT face recognition — orientation, shape and size only.
PORTRAIT_RATIO = (0.65, 0.85)  # width / height; 3:4 = 0.75 (NCRE 144×192)
PORTRAIT_MIN = (120, 160)
PHOTO_EXTS = (".jpg", ".jpeg")
CHUNK = 900  # IN-list size

PORTRAIT_NOTE = ("简易检测（不是人像识别）：照片须为竖版、宽高比约 3:4（宽/高在 "
                 f"{PORTRAIT_RATIO[0]}–{PORTRAIT_RATIO[1]} 之间）、不小于 {PORTRAIT_MIN[0]}×{PORTRAIT_MIN[1]} 像素。")
NAMING_RULE = ("照片以考生的证件号码命名（如 110101200001011234.jpg），与系统内报名信息中的证件号码完全一致："
               "前后不能有空格，括号、字母等注意全半角；只接受 JPG 格式（.jpg / .jpeg）；"
               f"每张不超过 {MAX_PHOTO_BYTES // 1024 // 1024} MB，不小于 {MIN_WIDTH}×{MIN_HEIGHT} 像素。")
LOCKED_MSG = "报名信息已锁定，需先在《考生管理》解锁"
EXISTS_MSG = "系统目录中已有该考生的照片；如需替换，请勾选“覆盖重名照片”后重新导入"
EXISTS_UNLINKED_MSG = ("系统目录中已有该考生的同一张照片，但尚未与报名信息关联；请在《考生照片检测》中重新关联，"
                       "或勾选“覆盖重名照片”")

Progress = Callable[[float, str], None]


def _noop(_f: float, _t: str) -> None:
    pass


# ---------------------------------------------------------------- result
@dataclass
class PhotoError:
    file: str  # the path inside the ZIP, as uploaded
    id_number: str  # the 证件号码 the file name claims ('' when the file is not a photo at all)
    message: str


@dataclass
class PhotoResult:
    """What an import did: totals (总数/成功/失败), one error per refused file, and counts."""

    filename: str
    total: int = 0
    added: int = 0  # new photos in the directory
    replaced: int = 0  # 覆盖重名照片
    unchanged: int = 0  # the same photo was already there and linked
    errors: list[PhotoError] = field(default_factory=list)
    check_portrait: bool = False

    @property
    def ok(self) -> int:
        return self.added + self.replaced + self.unchanged

    @property
    def failed(self) -> int:
        return len(self.errors)

    def totals(self) -> dict[str, int]:
        return {"总数": self.total, "成功": self.ok, "失败": self.failed}

    @property
    def message(self) -> str:
        parts = [f"新增 {self.added}"] + ([f"覆盖 {self.replaced}"] if self.replaced else []) + \
                ([f"已存在且相同 {self.unchanged}"] if self.unchanged else [])
        detail = "，".join(parts)
        if not self.errors:
            return f"导入成功：共 {self.total} 张照片全部导入（{detail}）。"
        if not self.ok:
            return f"没有照片导入成功：共 {self.total} 个文件，全部有错误，请查看“导入错误详细”。"
        return (f"导入完成：共 {self.total} 个文件，成功 {self.ok}（{detail}），失败 {self.failed}；"
                f"正确的照片已导入，错误的请查看“导入错误详细”或下载报告，改正后重新导入。")

    def error_table(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The first `limit` errors for the page, 证件号码 masked (also inside the file name)."""
        limit = LIMITS.import_error_rows_shown if limit is None else limit
        out = []
        for i, e in enumerate(self.errors[:limit], 1):
            masked = mask_id(e.id_number) if e.id_number else ""
            shown = e.file.replace(e.id_number, masked) if e.id_number else e.file
            out.append({"序号": i, "文件": shown, "证件号码": masked, "错误信息": e.message})
        return out

    def error_report(self) -> bytes:
        """Every error as an xlsx (导入错误详细), with the file names as uploaded so they can be found."""
        rows = ((i, e.file, e.id_number, e.message) for i, e in enumerate(self.errors, 1))
        return write_xlsx(["序号", "文件", "证件号码", "错误信息"], rows, sheet_name="导入错误详细",
                          widths=[8, 50, 24, 80])


# ---------------------------------------------------------------- checks of one photo
class PhotoProblem(Exception):
    pass


def _name_problem(m: ZipMember) -> str | None:
    """What is wrong with the file name as such (before looking it up)."""
    if m.suffix not in PHOTO_EXTS:
        if not m.suffix:
            return "不是照片文件（没有扩展名）；照片应为 <证件号码>.jpg"
        return f"只接受 JPG 照片（.jpg / .jpeg），此文件扩展名为 {m.suffix}"
    stem = m.stem
    if not stem.strip():
        return "文件名为空；照片应以考生的证件号码命名"
    if stem != stem.strip() or any(ch.isspace() for ch in stem):
        return "文件名中有空格；照片应以证件号码命名，前后和中间都不能有空格"
    if unicodedata.normalize("NFKC", stem) != stem:
        return "文件名含全角字符（如全角括号、数字或字母）；证件号码中的字符请改为半角后重新打包"
    return None


def _unknown_message(stem: str, enrolled: dict[str, Any], folded: dict[str, str]) -> str:
    other = folded.get(stem.casefold())
    if other is not None:
        if stem[-1:] == "x" and other[-1:] == "X":
            return "证件号码末位的 X 应为大写，与报名信息一致"
        return "文件名与报名信息中的证件号码大小写不一致"
    return "本考点本考次没有证件号码与文件名一致的报名信息（请先完成报名，或核对文件名）"


def check_photo_bytes(data: bytes, check_portrait: bool = False) -> tuple[int, int]:
    """Check one photo by CONTENT: a real, complete JPEG within the size and dimension limits
    (and, when asked, the 证件照 heuristic). Returns (width, height); raises PhotoProblem."""
    if not data:
        raise PhotoProblem("文件为空")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoProblem(f"照片过大（{len(data) / 1024 / 1024:.2f} MB），每张不能超过 "
                           f"{MAX_PHOTO_BYTES // 1024 // 1024} MB")
    mime = sniff_mime(data)
    if mime != "image/jpeg":
        if mime is not None:
            raise PhotoProblem(f"内容是 {MIME_LABELS.get(mime, mime)}，只接受 JPG")
        raise PhotoProblem("内容不是 JPG 图片（可能是改了扩展名的其他文件），只接受 JPG")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "JPEG":
                raise PhotoProblem("内容不是 JPG 图片，只接受 JPG")
            w, h = img.size
            if w * h > MAX_PIXELS or w > MAX_WIDTH or h > MAX_HEIGHT:
                raise PhotoProblem(f"照片尺寸过大（{w}×{h} 像素），宽不超过 {MAX_WIDTH}、高不超过 {MAX_HEIGHT} 像素")
            if w < MIN_WIDTH or h < MIN_HEIGHT:
                raise PhotoProblem(f"照片尺寸过小（{w}×{h} 像素），不能小于 {MIN_WIDTH}×{MIN_HEIGHT} 像素")
            if img.mode not in ("RGB", "L"):
                raise PhotoProblem(f"照片颜色模式为 {img.mode}，请另存为 RGB 颜色的 JPG")
            img.verify()
    except Image.DecompressionBombError:
        raise PhotoProblem("照片尺寸过大（像素数超出上限），已拒绝") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PhotoProblem("JPG 文件已损坏，无法识别") from None
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        # no end-of-image marker: truncated, or data after the image; decode to be sure
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
        except (OSError, SyntaxError, ValueError):
            raise PhotoProblem("JPG 文件不完整或已损坏（可能上传或复制时被截断）") from None
    if check_portrait:
        ratio = w / h
        if h <= w or not PORTRAIT_RATIO[0] <= ratio <= PORTRAIT_RATIO[1] or w < PORTRAIT_MIN[0] or h < PORTRAIT_MIN[1]:
            raise PhotoProblem(f"证件照检测未通过（简易检测）：应为竖版、宽高比约 3:4、不小于 "
                               f"{PORTRAIT_MIN[0]}×{PORTRAIT_MIN[1]} 像素，此照片为 {w}×{h} 像素")
    return w, h


# ---------------------------------------------------------------- shared look-ups
def _site(s: Session, actor: Actor, site_id: int) -> Org:
    org = get_scoped_org(s, actor, site_id)
    if org.kind != "site":
        raise ValidationError(f"“{org.name}”不是考点，请选择考点。", "考点")
    return org


def _require_own_site(actor: Actor, site_id: int, what: str) -> None:
    if actor.role != "site_admin" or actor.org_id != site_id:
        raise PermissionDenied(f"{what}仅限本考点的考点管理员操作，上级机构只能查看。")


def _term(actor: Actor) -> int:
    if actor.term_id is None:
        raise ValidationError("系统尚未设置考次，请考试中心管理员先创建考次。")
    return actor.term_id


def _directory(s: Session, term_id: int, site_id: int) -> dict[str, tuple[int, str, int, datetime | None]]:
    """证件号码 -> (photo id, sha256, size, uploaded_at) of the site's photo directory."""
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in s.execute(
        select(CandidatePhoto.id_number, CandidatePhoto.id, CandidatePhoto.sha256, CandidatePhoto.size,
               CandidatePhoto.uploaded_at)
        .where(CandidatePhoto.term_id == term_id, CandidatePhoto.site_id == site_id))}


# ================================================================ §23 考生照片导入
def import_photos(s: Session, actor: Actor, site_id: int, data: bytes, filename: str, *, overwrite: bool = False,
                  check_portrait: bool = False, progress: Progress | None = None) -> PhotoResult:
    """Import a ZIP of `<证件号码>.jpg` photos into the site's directory (§23). A file-level problem
    (not a ZIP, RAR, bomb…) raises ArchiveError; every per-photo problem is reported in the result
    and the good photos are stored."""
    progress = progress or _noop
    _require_own_site(actor, site_id, "考生照片导入")
    site = _site(s, actor, site_id)
    require_window(s, actor, "registration")
    term_id = _term(actor)
    result = PhotoResult(filename=filename, check_portrait=check_portrait)
    progress(0.0, "正在检查压缩包…")
    with open_zip(data, filename, max_bytes=MAX_ZIP_MB * 1024 * 1024, max_members=MAX_PHOTOS) as z:
        result.total = len(z.members) + len(z.ignored)
        if result.total == 0:
            raise ValidationError("压缩包中没有照片文件（只有文件夹或系统文件）。")
        for m, why in z.ignored:
            result.errors.append(PhotoError(m.path, "", why))

        # -- names: syntax, then duplicates, then the enrollments of this site (one query)
        enrolled = {r[0]: (r[1], r[2], r[3]) for r in s.execute(
            select(Enrollment.id_number, Enrollment.id, Enrollment.locked, Enrollment.photo_sha256)
            .where(Enrollment.term_id == term_id, Enrollment.site_id == site_id))}
        folded = {k.casefold(): k for k in enrolled}
        directory = _directory(s, term_id, site_id)
        by_stem: dict[str, list[ZipMember]] = defaultdict(list)
        for m in z.members:
            problem = _name_problem(m)
            if problem:
                claimed = m.stem.strip()  # kept (and masked on screen) when it looks like a 证件号码
                result.errors.append(PhotoError(m.path, claimed if any(ch.isdigit() for ch in claimed) else "",
                                                problem))
            else:
                by_stem[m.stem].append(m)
        todo: list[tuple[str, ZipMember]] = []
        for stem, ms in by_stem.items():
            if len(ms) > 1:
                paths = "、".join(x.path for x in ms[:5]) + ("…" if len(ms) > 5 else "")
                for m in ms:
                    result.errors.append(PhotoError(m.path, stem, f"压缩包中有 {len(ms)} 张以同一证件号码命名的照片"
                                                                  f"（{paths}），无法确定使用哪一张，均未导入"))
            elif stem not in enrolled:
                result.errors.append(PhotoError(ms[0].path, stem, _unknown_message(stem, enrolled, folded)))
            else:
                todo.append((stem, ms[0]))

        # -- content, then the directory rules (§23.6–7); good photos go to the file store
        new_rows: list[dict] = []
        replace_rows: list[dict] = []
        link_rows: list[dict] = []
        now = datetime.now().replace(microsecond=0)
        step = max(1, len(todo) // 50)
        for i, (stem, m) in enumerate(todo):
            if i % step == 0:
                progress(0.05 + 0.85 * i / max(len(todo), 1), f"正在校验照片 {i}/{len(todo)}…")
            try:
                payload = z.read(m, limit=MAX_PHOTO_BYTES)
                check_photo_bytes(payload, check_portrait)
            except MemberError as e:
                result.errors.append(PhotoError(m.path, stem, e.message.rstrip("。")))
                continue
            except PhotoProblem as e:
                result.errors.append(PhotoError(m.path, stem, str(e)))
                continue
            eid, locked, linked = enrolled[stem]
            digest = sha256(payload).hexdigest()
            have = directory.get(stem)
            if linked == digest and (have is None or have[1] == digest):
                result.unchanged += 1  # the 报名信息 already shows this very photo
                if have is None:
                    new_rows.append(dict(term_id=term_id, site_id=site_id, id_number=stem, sha256=digest,
                                         size=len(payload), uploaded_at=now))
                continue
            # "已存在": in the directory, or a different photo already on the 报名信息 (e.g. uploaded by
            # the candidate): never replaced without 覆盖重名照片
            if (have is not None or linked is not None) and not overwrite:
                unlinked = have is not None and have[1] == digest and linked is None
                result.errors.append(PhotoError(m.path, stem, EXISTS_UNLINKED_MSG if unlinked else EXISTS_MSG))
                continue
            if locked:
                result.errors.append(PhotoError(m.path, stem, LOCKED_MSG))
                continue
            save_blob(payload)
            if have is None:
                new_rows.append(dict(term_id=term_id, site_id=site_id, id_number=stem, sha256=digest,
                                     size=len(payload), uploaded_at=now))
                result.added += 1
            else:
                replace_rows.append(dict(id=have[0], sha256=digest, size=len(payload), uploaded_at=now))
                result.replaced += 1
            link_rows.append(dict(id=eid, photo_sha256=digest, photo_rejected=False))

    progress(0.92, "正在保存…")
    try:
        if new_rows:
            s.execute(insert(CandidatePhoto), new_rows)
        if replace_rows:
            s.execute(update(CandidatePhoto), replace_rows)
        if link_rows:
            s.execute(update(Enrollment), link_rows)
        s.flush()
    except IntegrityError:
        raise DomainError("其他人正在同时导入本考点的照片，本次未做任何修改；请稍后重试。") from None
    result.errors.sort(key=lambda e: e.file)
    audit(s, actor, "import", "考生照片", None, org_id=site.id,
          after={"file": filename[:200], **result.totals(), "added": result.added, "replaced": result.replaced,
                 "unchanged": result.unchanged, "overwrite": overwrite, "check_portrait": check_portrait},
          summary=f"考生照片导入 {filename[:100]}：总数 {result.total}，成功 {result.ok}，失败 {result.failed}")
    progress(1.0, "导入完成")
    return result


# ================================================================ §24 考生照片检测
NO_PHOTO = "系统目录中没有该考生的照片，需要导入"
PAID_KEPT = "已支付：照片检查不改变已支付考生的照片标识"
REJECTED = "照片审核不通过，需要重新上传照片"


def _paid_enrollments():
    return exists().where(Registration.enrollment_id == Enrollment.id, Registration.paid.is_(True))


def _stored(digest: str) -> bool:
    try:
        return file_path(digest).exists()
    except ValueError:  # not a sha256 at all
        return False


def _analyse(s: Session, actor: Actor, site: Org, apply: bool, progress: Progress) -> dict[str, Any]:
    term_id = _term(actor)
    progress(0.05, "正在读取报名信息…")
    enrollments = s.execute(
        select(Enrollment.id, Enrollment.id_number, Enrollment.name, Enrollment.photo_sha256,
               Enrollment.photo_rejected, _paid_enrollments().label("paid"))
        .where(Enrollment.term_id == term_id, Enrollment.site_id == site.id)
        .order_by(Enrollment.id_number)).all()
    progress(0.3, "正在读取照片目录…")
    directory = _directory(s, term_id, site.id)
    progress(0.5, "正在比对…")
    matched, relink, no_photo, missing = [], [], [], []
    enrolled_ids = set()
    for eid, idn, name, sha, rejected, paid in enrollments:
        enrolled_ids.add(idn)
        row = {"证件号码": mask_id(idn), "姓名": name}
        if sha:
            matched.append(eid)
            if not _stored(sha):
                missing.append({**row, "说明": "照片文件已丢失，请重新导入"})
            continue
        photo = directory.get(idn)
        if photo is None:
            no_photo.append({**row, "说明": NO_PHOTO})
        elif rejected:
            no_photo.append({**row, "说明": REJECTED})
        elif paid:
            no_photo.append({**row, "说明": PAID_KEPT})
        else:
            relink.append((eid, photo[1], row))
    unmatched = [{"证件号码": mask_id(idn), "上传时间": f"{p[3]:%Y-%m-%d %H:%M}" if p[3] else "",
                  "大小(KB)": round(p[2] / 1024, 1)}
                 for idn, p in sorted(directory.items()) if idn not in enrolled_ids]
    if apply and relink:
        progress(0.8, "正在重新关联…")
        s.execute(update(Enrollment), [dict(id=eid, photo_sha256=sha) for eid, sha, _ in relink])
        s.flush()
    counts = {"报名考生": len(enrollments), "已匹配照片": len(matched) + (len(relink) if apply else 0),
              ("重新关联" if apply else "可重新关联"): len(relink), "无照片考生": len(no_photo),
              "系统目录照片": len(directory), "未匹配照片": len(unmatched), "照片文件丢失": len(missing)}
    verb = "已重新关联" if apply else "可重新关联"
    message = (("检查完成" if apply else "检查结果（仅查看，未做修改）")
               + f"：报名考生 {len(enrollments)} 人，{verb} {len(relink)} 人，无照片考生 {len(no_photo)} 人，"
                 f"未匹配照片 {len(unmatched)} 张。")
    if unmatched:
        message += "存在未匹配照片（系统目录中有照片，但本考点没有该证件号码的报名信息），可以删除。"
    progress(1.0, "检查完成")
    return {"site": f"({site.code}){site.name}", "applied": apply, "counts": counts,
            "relinked": [r for _, _, r in relink], "no_photo": no_photo, "unmatched": unmatched,
            "missing": missing, "message": message}


def check_photos(s: Session, actor: Actor, site_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """§24 校验数据: re-link this site's 报名信息 without a photo to the directory photo of the same
    证件号码 (not paid ones, not rejected ones) and report. Any time in the current 考次 (no window);
    only the site's own administrator. One audit row."""
    progress = progress or _noop
    _require_own_site(actor, site_id, "考生照片检测")
    require_writable_term(actor)
    site = _site(s, actor, site_id)
    out = _analyse(s, actor, site, True, progress)
    c = out["counts"]
    audit(s, actor, "check", "考生照片", None, org_id=site.id, after=c,
          summary=f"考生照片检测：重新关联 {c['重新关联']} 人，无照片考生 {c['无照片考生']} 人，未匹配照片 {c['未匹配照片']} 张")
    return out


def photo_status(s: Session, actor: Actor, site_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """The same report as `check_photos` without writing anything: for the levels above (any site in
    scope) and for past 考次."""
    return _analyse(s, actor, _site(s, actor, site_id), False, progress or _noop)


def delete_unmatched_photos(s: Session, actor: Actor, site_id: int) -> int:
    """删除不匹配照片: remove the directory photos of this site/考次 that no 报名信息 of the site matches
    (recomputed now, not taken from the page). Files stay in the content-addressed store (shared by
    content). Returns how many were deleted; one audit row."""
    _require_own_site(actor, site_id, "删除不匹配照片")
    require_writable_term(actor)
    site = _site(s, actor, site_id)
    term_id = _term(actor)
    enrolled = select(Enrollment.id_number).where(Enrollment.term_id == term_id, Enrollment.site_id == site.id)
    rows = s.execute(select(CandidatePhoto.id, CandidatePhoto.id_number).where(
        CandidatePhoto.term_id == term_id, CandidatePhoto.site_id == site.id,
        CandidatePhoto.id_number.not_in(enrolled))).all()
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), CHUNK):
        s.execute(delete(CandidatePhoto).where(CandidatePhoto.id.in_(ids[i:i + CHUNK]))
                  .execution_options(synchronize_session=False))
    audit(s, actor, "delete", "考生照片", None, org_id=site.id,
          after={"count": len(ids), "id_numbers": [r[1] for r in rows[:1000]]},
          summary=f"删除不匹配照片 {len(ids)} 张")
    return len(ids)
