"""core.imports.archive: the one safe ZIP reader (names, unsafe paths, bombs, wrong types, single_table)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from core.exports.tabular import write_xlsx
from core.imports.archive import ArchiveError, MemberError, decode_name, iter_members, open_zip, single_table
from core.imports.readers import ImportFileError

JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-body" * 10 + b"\xff\xd9"


def make_zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """entries: {name: bytes} or [(name or ZipInfo, bytes)]."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in (entries.items() if isinstance(entries, dict) else entries):
            zf.writestr(name, data)
    return buf.getvalue()


def with_raw_names(entries: dict[bytes, bytes]) -> bytes:
    """A ZIP whose member names are the given raw bytes WITHOUT the UTF-8 flag (as Chinese Windows
    tools write GBK names): written with ASCII placeholders of the same length, then patched."""
    placeholders = {}
    ordered = []
    for i, (raw, data) in enumerate(entries.items()):
        ph = (f"~{i:03d}" + "q" * len(raw))[:len(raw)]
        assert len(ph) == len(raw) and len(raw) >= 4
        placeholders[ph.encode()] = raw
        ordered.append((ph, data))
    out = make_zip(ordered)
    for ph, raw in placeholders.items():
        assert out.count(ph) == 2  # local header + central directory
        out = out.replace(ph, raw)
    return out


def _central_offsets(data: bytes) -> list[int]:
    out, i = [], data.find(b"PK\x01\x02")
    while i != -1:
        out.append(i)
        i = data.find(b"PK\x01\x02", i + 4)
    return out


def patch_central(data: bytes, index: int, *, flags: int | None = None, file_size: int | None = None,
                  compress_size: int | None = None) -> bytes:
    """Change one member's central-directory record (what Python's zipfile trusts)."""
    b = bytearray(data)
    off = _central_offsets(data)[index]
    if flags is not None:
        struct.pack_into("<H", b, off + 8, flags)
    if compress_size is not None:
        struct.pack_into("<L", b, off + 20, compress_size)
    if file_size is not None:
        struct.pack_into("<L", b, off + 24, file_size)
    return bytes(b)


def paths(data: bytes, filename: str = "照片.zip", **kw) -> list[str]:
    return [m.path for m in iter_members(data, filename, **kw)]


# ---------------------------------------------------------------- names
def test_gbk_names_without_utf8_flag_are_decoded():
    data = with_raw_names({"照片/会计一班/110101200001011234.jpg".encode("gbk"): JPEG,
                           "张三.jpg".encode("gbk"): JPEG})
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert not infos[0].flag_bits & 0x800  # Python decoded these as cp437 (mojibake)
    assert "照片" not in infos[0].filename
    with open_zip(data, "照片.zip") as z:
        assert [m.path for m in z.members] == ["照片/会计一班/110101200001011234.jpg", "张三.jpg"]
        assert [m.name for m in z.members] == ["110101200001011234.jpg", "张三.jpg"]
        assert z.read(z.members[1]) == JPEG


def test_utf8_flag_names_and_undecodable_names():
    data = make_zip({"照片/李四.jpg": JPEG})  # Python sets the UTF-8 flag
    assert paths(data) == ["照片/李四.jpg"]
    # bytes that are neither UTF-8 nor GB18030 fall back to cp437
    raw = b"\x80\xff\x80\xff.jpg"
    got = paths(with_raw_names({raw: JPEG}))
    assert got == [raw.decode("cp437")]


def test_info_zip_unicode_path_field_wins():
    raw = "王五.jpg".encode("gbk")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zi = zipfile.ZipInfo("~000qqq.jpg"[:len(raw)])
        name = "王五.jpg".encode()
        zi.extra = struct.pack("<HHB", 0x7075, 5 + len(name), 1) + struct.pack("<L", zlib.crc32(raw)) + name
        zf.writestr(zi, JPEG)
    data = buf.getvalue().replace("~000qqq.jpg"[:len(raw)].encode(), raw)
    info = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    assert decode_name(info) == "王五.jpg"


def test_nested_folders_and_backslashes_use_the_basename():
    data = make_zip({"a/b/c/110101200001011234.jpg": JPEG, "d\\e\\110101200001012345.JPG": JPEG})
    members = iter_members(data, "x.zip")
    assert [m.name for m in members] == ["110101200001011234.jpg", "110101200001012345.JPG"]
    assert members[1].path == "d/e/110101200001012345.JPG"
    assert members[1].suffix == ".jpg" and members[1].stem == "110101200001012345"


def test_junk_and_directories_are_skipped():
    data = make_zip([("照片/", b""), ("照片/1.jpg", JPEG), ("__MACOSX/照片/._1.jpg", b"x"), ("照片/.DS_Store", b"x"),
                     ("照片/Thumbs.db", b"x"), ("照片/._2.jpg", b"x"), ("~$名单.xlsx", b"x")])
    assert paths(data) == ["照片/1.jpg"]


# ---------------------------------------------------------------- unsafe archives
@pytest.mark.parametrize("name", ["../110101200001011234.jpg", "照片/../../etc/x.jpg", "/etc/passwd",
                                  "C:/Windows/x.jpg", "c:x.jpg", "..\\..\\x.jpg"])
def test_unsafe_paths_refuse_the_archive(name):
    data = make_zip({"ok.jpg": JPEG, name: JPEG})
    with pytest.raises(ArchiveError, match="不安全的路径.*整个压缩包已拒绝"):
        open_zip(data, "照片.zip")


def test_symlink_member_refuses_the_archive():
    zi = zipfile.ZipInfo("link.jpg")
    zi.create_system = 3
    zi.external_attr = (0o120777 << 16)
    data = make_zip([("ok.jpg", JPEG), (zi, b"/etc/passwd")])
    with pytest.raises(ArchiveError, match="符号链接"):
        open_zip(data, "照片.zip")


def test_encrypted_archive_is_refused():
    data = patch_central(make_zip({"a.jpg": JPEG}), 0, flags=0x1)
    with pytest.raises(ArchiveError, match="设置了密码"):
        open_zip(data, "照片.zip")


def test_too_many_members():
    data = make_zip({f"{i}.jpg": JPEG for i in range(5)})
    with pytest.raises(ArchiveError, match="文件过多（5 个），一次最多 4 个"):
        open_zip(data, "照片.zip", max_members=4)


def test_zip_bomb_by_ratio():
    data = make_zip({"a.jpg": JPEG, "bomb.jpg": b"\0" * (4 * 1024 * 1024)})
    assert len(data) < 20_000
    with pytest.raises(ArchiveError, match="压缩比异常.*疑似压缩炸弹"):
        open_zip(data, "照片.zip")


def test_zip_bomb_by_declared_total():
    data = make_zip({f"{i}.txt": bytes(range(256)) * 400 for i in range(3)})  # 3 × 100 KB, not compressible much
    with pytest.raises(ArchiveError, match="解压后过大"):
        open_zip(data, "照片.zip", max_total=200_000)


def test_overlapping_or_out_of_range_member_data():
    data = patch_central(make_zip({"a.jpg": JPEG}), 0, compress_size=10_000_000)
    with pytest.raises(ArchiveError, match="结构异常"):
        open_zip(data, "照片.zip")


def test_member_that_inflates_beyond_its_declared_size():
    payload = bytes(range(256)) * 40  # 10 KB
    data = patch_central(make_zip({"a.jpg": payload}), 0, file_size=100)
    with open_zip(data, "照片.zip") as z:
        (m,) = z.members
        assert m.size == 100
        with pytest.raises(MemberError, match="损坏|超过"):
            z.read(m)


def test_member_that_declares_more_than_it_has():
    payload = bytes(range(256)) * 4
    data = patch_central(make_zip({"a.jpg": payload}, zipfile.ZIP_STORED), 0, file_size=5000)
    with open_zip(data, "照片.zip") as z:
        with pytest.raises(MemberError, match="损坏"):
            z.read(z.members[0])


def test_read_limit_is_enforced_before_reading():
    data = make_zip({"big.jpg": b"\xff\xd8\xff" + bytes(range(256)) * 4000})
    with open_zip(data, "照片.zip") as z:
        with pytest.raises(MemberError, match="文件过大"):
            z.read(z.members[0], limit=100_000)
        assert len(z.read(z.members[0])) == 3 + 256 * 4000


def test_member_over_the_member_cap_is_ignored_not_fatal():
    data = make_zip({"a.jpg": JPEG, "b.jpg": bytes(range(256)) * 100})
    with open_zip(data, "照片.zip", max_member=10_000) as z:
        assert [m.name for m in z.members] == ["a.jpg"]
        assert [(m.name, "文件过大" in why) for m, why in z.ignored] == [("b.jpg", True)]


def test_nested_zip_is_ignored_with_a_message():
    inner = make_zip({"x.jpg": JPEG})
    data = make_zip({"a.jpg": JPEG, "子包/more.zip": inner, "more.rar": b"Rar!\x1a\x07\x00"})
    with open_zip(data, "照片.zip") as z:
        assert [m.name for m in z.members] == ["a.jpg"]
        assert [m.path for m, _ in z.ignored] == ["子包/more.zip", "more.rar"]
        assert all("压缩包中的压缩包不会被解开" in why for _, why in z.ignored)


# ---------------------------------------------------------------- not a ZIP
def test_rar_by_extension_and_by_content():
    with pytest.raises(ArchiveError, match=r"不能打成 \.RAR 格式压缩包，请打成 \.ZIP"):
        open_zip(make_zip({"a.jpg": JPEG}), "照片.rar")
    with pytest.raises(ArchiveError, match=r"这是 RAR 压缩包.*不能打成 \.RAR"):
        open_zip(b"Rar!\x1a\x07\x01\x00" + b"\0" * 100, "照片.zip")
    with pytest.raises(ArchiveError, match="7z 压缩包"):
        open_zip(b"7z\xbc\xaf\x27\x1c" + b"\0" * 100, "照片.zip")


def test_non_zip_renamed_zip():
    with pytest.raises(ArchiveError, match="不是 ZIP 压缩包"):
        open_zip("证件号码,姓名\n1,张三\n".encode(), "照片.zip")
    with pytest.raises(ArchiveError, match="这是一张 JPG 图片"):
        open_zip(JPEG, "照片.zip")
    with pytest.raises(ArchiveError, match="Excel 97-2003"):
        open_zip(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "照片.zip")
    with pytest.raises(ArchiveError, match="压缩包是空的"):
        open_zip(make_zip({}), "照片.zip")
    with pytest.raises(ArchiveError, match="文件为空"):
        open_zip(b"", "照片.zip")
    with pytest.raises(ArchiveError, match="已损坏"):
        open_zip(b"PK\x03\x04" + b"\0" * 100, "照片.zip")


def test_xlsx_uploaded_as_zip():
    book = write_xlsx(["证件号码"], [["110101200001011234"]])
    with pytest.raises(ArchiveError, match="这是 Excel 工作簿，不是 ZIP 压缩包"):
        open_zip(book, "集体报名.zip")


def test_archive_error_is_an_import_file_error():
    assert issubclass(ArchiveError, ImportFileError) and issubclass(MemberError, ArchiveError)


def test_upload_size_limit():
    with pytest.raises(ArchiveError, match="压缩包过大"):
        open_zip(make_zip({"a.jpg": JPEG}), "照片.zip", max_bytes=100)


# ---------------------------------------------------------------- single_table
def test_single_table_finds_the_one_table_in_any_folder():
    book = write_xlsx(["证件号码"], [["110101200001011234"]])
    data = make_zip({"集体报名/说明.txt": "见表".encode(), "集体报名/名单.xlsx": book, "__MACOSX/集体报名/._名单.xlsx": b"x"})
    name, got = single_table(data, "集体报名.zip")
    assert (name, got) == ("名单.xlsx", book)
    name, got = single_table(make_zip({"a.csv": b"x,y\n"}), "a.zip")
    assert (name, got) == ("a.csv", b"x,y\n")


def test_single_table_with_none_or_several():
    with pytest.raises(ArchiveError, match=r"没有 \.xlsx 或 \.csv 表格文件（找到：a\.jpg、b\.doc）"):
        single_table(make_zip({"a.jpg": JPEG, "b.doc": b"x"}), "a.zip")
    with pytest.raises(ArchiveError, match=r"有 2 个表格文件（x/a\.xlsx、b\.csv），只能放一个"):
        single_table(make_zip({"x/a.xlsx": b"x", "b.csv": b"y"}), "a.zip")
    with pytest.raises(ArchiveError, match=r"“名单\.xls”不是 \.xlsx 或 \.csv 格式"):
        single_table(make_zip({"名单.xls": b"x"}), "a.zip")
