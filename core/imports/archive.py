"""THE safe ZIP reader for uploads (考生照片 ZIP §23, 集体报名 ZIP §22): nothing is extracted to disk.

    with open_zip(data, filename) as z:          # ArchiveError: the archive as a whole is refused
        for m in z.members:                      # regular files, junk (__MACOSX/, .DS_Store…) left out
            payload = z.read(m, limit=2 << 20)   # MemberError: this one member cannot be used
        for m, why in z.ignored:                 # members refused one by one (nested ZIP, too large…)
            ...

Refused as a whole, with a Chinese message naming what the file really is: not a ZIP by content
(RAR, 7z, gzip, a JPEG, an Excel workbook — also a workbook *package* renamed .zip), a .rar name,
an encrypted archive, unsafe paths (../, absolute, drive letters), symlinks, too many members, a
zip bomb (declared total too large, an absurd compression ratio, overlapping member data).
Reading never trusts the declared sizes: members are stream-read with a cap, and a member that
produces more than it declares (or fails its CRC) is refused.

Member names: without the UTF-8 flag (bit 0x800) Python decodes names as cp437; ZIPs made on
Chinese Windows carry GBK bytes there, so such names are re-decoded (Info-ZIP Unicode path field
0x7075, then UTF-8, then GB18030, falling back to cp437). Backslashes count as folder separators.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from core.config import LIMITS
from core.imports.readers import OLE_MAGIC, ZIP_MAGIC, ImportFileError

MAX_MEMBERS = 20_000
MAX_TOTAL = 2 * 1024 ** 3  # declared uncompressed bytes of the whole archive
MAX_MEMBER = 64 * 1024 ** 2  # declared uncompressed bytes of one member
MAX_RATIO = 100  # uncompressed / compressed, for members big enough to matter
RATIO_MIN_SIZE = 1024 ** 2  # small members may compress very well; only larger ones are judged
_CHUNK = 64 * 1024
_SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"}
_JUNK_DIRS = {"__macosx"}
NESTED_ARCHIVES = {".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj"}
TABLE_SUFFIXES = (".xlsx", ".csv")
REPACK = "请把文件直接放进一个 .ZIP 格式的压缩包后重新上传"


class ArchiveError(ImportFileError):
    """The uploaded archive as a whole is refused; the message says why."""


class MemberError(ArchiveError):
    """One member cannot be read (too large, damaged, bomb-like); the rest of the archive is usable."""

    def __init__(self, message: str, member: "ZipMember | None" = None):
        super().__init__(message)
        self.member = member


@dataclass(frozen=True)
class ZipMember:
    """A regular file in the archive. `path`: decoded, '/'-separated, as in the archive;
    `name`: its basename; `size`: the DECLARED uncompressed size (never trusted when reading)."""

    path: str
    name: str
    size: int
    compress_size: int = 0
    info: zipfile.ZipInfo | None = field(default=None, repr=False, compare=False)

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()

    @property
    def stem(self) -> str:
        """The name without its LAST extension ('a.b.jpg' -> 'a.b'); spaces kept as they are."""
        dot = self.name.rfind(".")
        return self.name[:dot] if dot > 0 else self.name


# ---------------------------------------------------------------- what the bytes really are
_NOT_ZIP: list[tuple[bytes, int, str]] = [
    (b"Rar!\x1a\x07", 0, "这是 RAR 压缩包：不能打成 .RAR 格式压缩包，请打成 .ZIP 格式压缩包后重新上传。"),
    (b"7z\xbc\xaf\x27\x1c", 0, "这是 7z 压缩包，不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (b"\x1f\x8b", 0, "这是 gzip 压缩文件（.gz / .tar.gz），不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (b"BZh", 0, "这是 bzip2 压缩文件，不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (b"\xfd7zXZ\x00", 0, "这是 xz 压缩文件，不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (b"ustar", 257, "这是 tar 归档文件，不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (b"MSCF", 0, "这是 CAB 压缩文件，不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (b"MZ", 0, "这是可执行程序（.exe，可能是自解压压缩包），不是 ZIP 压缩包；请打成 .ZIP 格式压缩包后重新上传。"),
    (OLE_MAGIC, 0, "这是 Excel 97-2003 工作簿（或 Word 97-2003 文档），不是 ZIP 压缩包。"),
    (b"\xff\xd8\xff", 0, "这是一张 JPG 图片，不是 ZIP 压缩包；" + REPACK + "。"),
    (b"\x89PNG\r\n\x1a\n", 0, "这是一张 PNG 图片，不是 ZIP 压缩包。"),
    (b"%PDF-", 0, "这是 PDF 文件，不是 ZIP 压缩包。"),
    (b"PK\x05\x06", 0, "压缩包是空的（没有任何文件）。"),
    (b"PK\x07\x08", 0, "这是分卷压缩包，不支持；请不要分卷，打成一个 .ZIP 格式压缩包后重新上传。"),
]
# an OOXML package renamed .zip: (a part that identifies it, what it is)
_PACKAGES = [
    ("xl/workbook.xml", "这是 Excel 工作簿，不是 ZIP 压缩包；" + REPACK + "。"),
    ("xl/workbook.bin", "这是 Excel 二进制工作簿，不是 ZIP 压缩包；" + REPACK + "。"),
    ("word/document.xml", "这是 Word 文档，不是 ZIP 压缩包。"),
    ("ppt/presentation.xml", "这是 PowerPoint 演示文稿，不是 ZIP 压缩包。"),
]


def _suffix(filename: str) -> str:
    return PurePosixPath((filename or "").replace("\\", "/")).suffix.lower()


def _check_bytes(data: bytes, filename: str, max_bytes: int) -> None:
    if not data:
        raise ArchiveError("文件为空，请选择 .ZIP 压缩包。")
    if len(data) > max_bytes:
        raise ArchiveError(f"压缩包过大（{len(data) / 1024 / 1024:.1f} MB），不能超过 {max_bytes / 1024 / 1024:.0f} MB；"
                           f"请分成几个压缩包分批导入。")
    for magic, offset, message in _NOT_ZIP:
        if data[offset:offset + len(magic)] == magic:
            raise ArchiveError(message)
    ext = _suffix(filename)
    if ext == ".rar":
        raise ArchiveError("不能打成 .RAR 格式压缩包，请打成 .ZIP 格式压缩包后重新上传。")
    if not data.startswith(ZIP_MAGIC):
        raise ArchiveError("文件内容不是 ZIP 压缩包（可能是改了扩展名的其他文件）；" + REPACK + "。")
    if ext in (".7z", ".tar", ".gz", ".tgz"):
        raise ArchiveError(f"文件扩展名是 {ext}，只接受 .ZIP 格式压缩包。")


# ---------------------------------------------------------------- names
def _unicode_path_field(info: zipfile.ZipInfo, raw: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), when present and matching the raw name."""
    extra, i = info.extra or b"", 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + size]
        if tag == 0x7075 and len(body) > 5 and body[0] == 1:
            if struct.unpack_from("<L", body, 1)[0] == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None


def decode_name(info: zipfile.ZipInfo) -> str:
    """The member name as the person who made the ZIP saw it (see the module docstring)."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:  # already decoded another way (metadata_encoding)
        return name
    if raw.isascii():
        return name
    found = _unicode_path_field(info, raw)
    if found is not None:
        return found
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return name


def _unsafe_path(path: str) -> bool:
    if path.startswith("/") or (len(path) >= 2 and path[1] == ":" and path[0].isalpha()):
        return True
    return any(part == ".." for part in path.split("/"))


def _is_junk(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return True
    if any(p.lower() in _JUNK_DIRS for p in parts[:-1]):
        return True
    base = parts[-1]
    return base.lower() in _JUNK_NAMES or base.startswith(("._", "~$"))


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and (info.external_attr >> 16) & 0o170000 == 0o120000


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


# ---------------------------------------------------------------- the archive
class SafeZip:
    """An opened, checked archive (see `open_zip`). `members`: readable regular files in archive order;
    `ignored`: (member, reason) for members refused one by one (nested archives, too large, unsupported
    compression)."""

    def __init__(self, zf: zipfile.ZipFile, members: list[ZipMember], ignored: list[tuple[ZipMember, str]],
                 max_member: int):
        self._zf = zf
        self.members = members
        self.ignored = ignored
        self.max_member = max_member

    def read(self, member: ZipMember, limit: int | None = None) -> bytes:
        """The member's bytes, stream-read with a cap: at most min(limit, its declared size) bytes are
        accepted; a member that is larger, produces more than it declares, or fails its CRC raises
        MemberError (the archive stays usable)."""
        limit = self.max_member if limit is None else min(limit, self.max_member)
        if member.size > limit:
            raise MemberError(f"文件过大（{_mb(member.size)}），不能超过 {_mb(limit)}。", member)
        cap = member.size
        out = bytearray()
        try:
            with self._zf.open(member.info) as f:
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    out += chunk
                    if len(out) > cap:
                        raise MemberError("文件解压后的大小超过压缩包中记录的大小，疑似恶意构造的压缩包，已拒绝。",
                                          member)
        except MemberError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
            raise MemberError("文件已损坏（解压失败或校验不符），请重新打包后上传。", member) from None
        except RuntimeError:  # an encrypted member slipped through
            raise MemberError("文件设置了密码，无法读取。", member) from None
        if len(out) != member.size:
            raise MemberError("文件已损坏（解压后的大小与记录不符），请重新打包后上传。", member)
        return bytes(out)

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_zip(data: bytes, filename: str, *, max_bytes: int | None = None, max_members: int = MAX_MEMBERS,
             max_total: int = MAX_TOTAL, max_member: int = MAX_MEMBER, max_ratio: float = MAX_RATIO) -> SafeZip:
    """Check an uploaded ZIP and open it for bounded reading. Raises ArchiveError (Chinese message)
    when the archive as a whole is refused. `max_bytes`: the upload itself (default LIMITS.max_upload_mb)."""
    _check_bytes(data, filename, max_bytes or LIMITS.max_upload_mb * 1024 * 1024)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ArchiveError("压缩包已损坏或不完整，无法打开；请重新打包为 .ZIP 后上传。") from None
    try:
        return _check_archive(zf, infos, len(data), max_members, max_total, max_member, max_ratio)
    except BaseException:
        zf.close()
        raise


def _check_archive(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], nbytes: int, max_members: int,
                   max_total: int, max_member: int, max_ratio: float) -> SafeZip:
    names = {i.filename for i in infos}
    if "[Content_Types].xml" in names:
        for part, message in _PACKAGES:
            if part in names:
                raise ArchiveError(message)
    if len(infos) > max_members:
        raise ArchiveError(f"压缩包中的文件过多（{len(infos)} 个），一次最多 {max_members} 个；请分批打包导入。")
    if any(i.flag_bits & 0x1 for i in infos):
        raise ArchiveError("压缩包设置了密码（已加密），无法读取；请去掉密码后重新打包为 .ZIP。")
    total = sum(i.file_size for i in infos)
    if total > max_total:
        raise ArchiveError(f"压缩包解压后过大（{_mb(total)}，上限 {_mb(max_total)}），疑似压缩炸弹，已拒绝；"
                           f"请分批打包导入。")
    # Member data that overlaps other members (the "non-recursive zip bomb") claims more compressed
    # bytes than the file has.
    if sum(i.compress_size for i in infos) > nbytes or any(i.header_offset + i.compress_size > nbytes for i in infos):
        raise ArchiveError("压缩包结构异常（文件数据相互重叠或超出文件范围），疑似压缩炸弹，已拒绝。")
    members: list[ZipMember] = []
    ignored: list[tuple[ZipMember, str]] = []
    for info in infos:
        path = decode_name(info).replace("\\", "/")
        if _unsafe_path(path):
            raise ArchiveError(f"压缩包中含有不安全的路径“{path}”（../、绝对路径或盘符），整个压缩包已拒绝；"
                               f"请只打包照片所在的文件夹后重新上传。")
        if _is_symlink(info):
            raise ArchiveError(f"压缩包中含有符号链接“{path}”，整个压缩包已拒绝；请只打包普通文件。")
        if info.is_dir() or path.endswith("/") or _is_junk(path):
            continue
        m = ZipMember(path=path, name=path.rsplit("/", 1)[-1], size=info.file_size,
                      compress_size=info.compress_size, info=info)
        if info.file_size >= RATIO_MIN_SIZE and info.file_size > max_ratio * max(info.compress_size, 1):
            raise ArchiveError(f"压缩包中的“{path}”压缩比异常（{info.file_size // max(info.compress_size, 1)} 倍），"
                               f"疑似压缩炸弹，整个压缩包已拒绝。")
        if m.suffix in NESTED_ARCHIVES:
            ignored.append((m, "压缩包中的压缩包不会被解开，已忽略；" + REPACK + "。"))
        elif info.compress_type not in _SUPPORTED_METHODS:
            ignored.append((m, "压缩方式不受支持，已忽略；请用系统自带的“压缩(zipped)文件夹”或压缩软件的"
                               "标准 ZIP 格式重新打包。"))
        elif info.file_size > max_member:
            ignored.append((m, f"文件过大（{_mb(info.file_size)}，上限 {_mb(max_member)}），已忽略。"))
        else:
            members.append(m)
    return SafeZip(zf, members, ignored, max_member)


def iter_members(data: bytes, filename: str, *, max_bytes: int | None = None, max_members: int = MAX_MEMBERS,
                 max_total: int = MAX_TOTAL, max_member: int = MAX_MEMBER, max_ratio: float = MAX_RATIO
                 ) -> list[ZipMember]:
    """The readable members of a checked archive (see `open_zip` for the checks and limits); to read
    their bytes, use `open_zip(...)` and `SafeZip.read` instead."""
    with open_zip(data, filename, max_bytes=max_bytes, max_members=max_members, max_total=max_total,
                  max_member=max_member, max_ratio=max_ratio) as z:
        return list(z.members)


def _listing(names: list[str], at_most: int = 5) -> str:
    shown = "、".join(names[:at_most])
    return shown + (f" 等 {len(names)} 个" if len(names) > at_most else "")


def single_table(data: bytes, filename: str, max_mb: int | None = None) -> tuple[str, bytes]:
    """The one .xlsx or .csv inside an uploaded ZIP (in any folder), as (its file name, its bytes),
    for `core.imports.read_grid`. Zero or several tables: ArchiveError naming what was found."""
    limit = (max_mb or LIMITS.max_upload_mb) * 1024 * 1024
    with open_zip(data, filename, max_bytes=limit) as z:
        tables = [m for m in z.members if m.suffix in TABLE_SUFFIXES]
        if len(tables) > 1:
            raise ArchiveError(f"压缩包中有 {len(tables)} 个表格文件（{_listing([m.path for m in tables])}），"
                               f"只能放一个 .xlsx 或 .csv 文件。")
        if not tables:
            old = [m.path for m in z.members if m.suffix in (".xls", ".xlsm", ".xlsb", ".et", ".dbf")]
            if old:
                raise ArchiveError(f"压缩包中的“{old[0]}”不是 .xlsx 或 .csv 格式；请在 Excel 中另存为"
                                   f"“Excel 工作簿（.xlsx）”后重新打包。")
            found = [m.path for m in z.members] + [m.path for m, _ in z.ignored]
            raise ArchiveError("压缩包中没有 .xlsx 或 .csv 表格文件" +
                               (f"（找到：{_listing(found)}）。" if found else "（压缩包中没有文件）。"))
        table = tables[0]
        return table.name, z.read(table, limit=limit)
