"""考生照片导入 (001 §23) and 考生照片检测 (001 §24), on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import struct
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from core.db import session_scope
from core.errors import PermissionDenied, ReadOnlyTerm, WindowClosed
from core.imports.archive import ArchiveError
from core.models import AuditLog, CandidatePhoto, Enrollment, OpWindow, Registration
from core.services import photos as ph
from core.workflow import file_path
from tests.factories import add_candidates, make_id_number

SITE = "110001"


@pytest.fixture(autouse=True)
def file_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))


# ---------------------------------------------------------------- helpers
def jpeg(w: int = 144, h: int = 192, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def noisy_jpeg(w: int = 144, h: int = 192, seed: int = 0) -> bytes:
    import random
    rnd = random.Random(seed)
    img = Image.frombytes("RGB", (w, h), bytes(rnd.randrange(256) for _ in range(w * h * 3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def png(w: int = 144, h: int = 192) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (1, 2, 3)).save(buf, "PNG")
    return buf.getvalue()


def with_dimensions(data: bytes, w: int, h: int) -> bytes:
    """A JPEG whose frame header (SOF0) claims w×h: the decompression-bomb shape, costing nothing."""
    i = data.index(b"\xff\xc0")
    b = bytearray(data)
    struct.pack_into(">HH", b, i + 5, h, w)
    return bytes(b)


def make_zip(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in (entries.items() if isinstance(entries, dict) else entries):
            zf.writestr(name, data)
    return buf.getvalue()


def site_id(seed, code=SITE):
    return seed.orgs[code]


def people(seed, n, code=SITE, **kw) -> list[str]:
    """n enrollments at the site in the current term; their 证件号码."""
    start = kw.pop("start", 0)
    with session_scope(seed.engine) as s:
        add_candidates(s, site_id(seed, code), seed.info["current_term"], n, start=start, **kw)
    return [make_id_number(i) for i in range(start, start + n)]


def run(seed, data, user="site110001", code=SITE, term="current", name="照片.zip", **kw):
    with session_scope(seed.engine) as s:
        return ph.import_photos(s, seed.actor(user, term), site_id(seed, code), data, name, **kw)


def enrollment(seed, idn) -> Enrollment:
    with session_scope(seed.engine) as s:
        return s.scalar(select(Enrollment).where(Enrollment.id_number == idn))


def directory(seed, code=SITE) -> dict[str, str]:
    with session_scope(seed.engine) as s:
        return dict(s.execute(select(CandidatePhoto.id_number, CandidatePhoto.sha256)
                              .where(CandidatePhoto.site_id == site_id(seed, code))).all())


def audits(seed, action) -> list[AuditLog]:
    with session_scope(seed.engine) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.entity == "考生照片", AuditLog.action == action)))


def errors_by_id(result) -> dict[str, str]:
    return {e.id_number or e.file: e.message for e in result.errors}


# ---------------------------------------------------------------- §23 import
def test_good_import_stores_links_and_audits_once(seed):
    ids = people(seed, 3)
    photos = {f"照片/会计一班/{ids[0]}.jpg": jpeg(color=(1, 1, 1)), f"{ids[1]}.JPG": jpeg(color=(2, 2, 2)),
              f"其他/{ids[2]}.jpeg": jpeg(color=(3, 3, 3))}
    seen = []
    r = run(seed, make_zip(photos), progress=lambda f, t: seen.append(f))
    assert r.totals() == {"总数": 3, "成功": 3, "失败": 0} and r.added == 3 and not r.errors
    assert "导入成功" in r.message
    assert seen[0] == 0.0 and seen[-1] == 1.0
    d = directory(seed)
    assert set(d) == set(ids)
    for idn in ids:
        e = enrollment(seed, idn)
        assert e.photo_sha256 == d[idn] and not e.photo_rejected
        assert file_path(d[idn]).exists()
    assert file_path(d[ids[0]]).read_bytes() == photos[f"照片/会计一班/{ids[0]}.jpg"]
    (a,) = audits(seed, "import")
    assert a.after["成功"] == 3 and a.org_id == site_id(seed)


def test_png_named_jpg_and_other_content_errors(seed):
    ids = people(seed, 6)
    good = jpeg(color=(9, 9, 9))
    noisy = noisy_jpeg()
    data = make_zip({
        f"{ids[0]}.jpg": png(),
        f"{ids[1]}.jpg": noisy[: len(noisy) * 3 // 4],  # truncated (copy cut short)
        f"{ids[2]}.jpg": b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50,  # JPEG magic, no image
        f"{ids[3]}.jpg": b"not an image at all",
        f"{ids[4]}.jpg": jpeg(40, 50),  # too small
        f"{ids[5]}.jpg": good,
    })
    r = run(seed, data)
    assert r.totals() == {"总数": 6, "成功": 1, "失败": 5}
    m = errors_by_id(r)
    assert m[ids[0]] == "内容是 PNG 图片，只接受 JPG"
    assert "不完整或已损坏" in m[ids[1]]
    assert "已损坏" in m[ids[2]]
    assert "内容不是 JPG 图片" in m[ids[3]]
    assert "尺寸过小（40×50" in m[ids[4]]
    assert set(directory(seed)) == {ids[5]}  # 只导入正确的
    assert enrollment(seed, ids[0]).photo_sha256 is None


def test_decompression_bomb_images_are_refused_before_decoding(seed):
    ids = people(seed, 3)
    base = jpeg()
    data = make_zip({f"{ids[0]}.jpg": with_dimensions(base, 5000, 5000),  # 25 MP: above our limit
                     f"{ids[1]}.jpg": with_dimensions(base, 60000, 60000),  # Pillow's own bomb error
                     f"{ids[2]}.jpg": with_dimensions(base, 3000, 7000)})  # taller than allowed
    assert len(data) < 10_000
    r = run(seed, data)
    assert r.totals()["失败"] == 3
    assert all("尺寸过大" in e.message for e in r.errors), r.errors
    assert directory(seed) == {}


def test_too_large_photo(seed, monkeypatch):
    (idn,) = people(seed, 1)
    monkeypatch.setattr(ph, "MAX_PHOTO_BYTES", 1000)
    r = run(seed, make_zip({f"{idn}.jpg": noisy_jpeg()}))
    assert "文件过大" in r.errors[0].message


def test_names_unknown_ids_and_hints(seed):
    ids = people(seed, 1) + ["11010119900101123X"]
    with session_scope(seed.engine) as s:  # one enrollment whose ID ends in X
        e = s.scalar(select(Enrollment).where(Enrollment.id_number == ids[0]))
        e.id_number = ids[1]
    fullwidth = "１１０１０１２０００".ljust(18, "０")
    data = make_zip({
        "11010119900101123x.jpg": jpeg(),  # lower-case x
        "110101200001019999.jpg": jpeg(),  # nobody
        f"{fullwidth}.jpg": jpeg(),
        " 110101200001010001.jpg": jpeg(),
        "110101 200001010001.jpg": jpeg(),
        "readme.txt": b"hello",
        "photo.png": png(),
        "noext": b"x",
        "inner.zip": make_zip({"x.jpg": jpeg()}),
    })
    r = run(seed, data)
    assert r.totals() == {"总数": 9, "成功": 0, "失败": 9}
    m = {e.file: e.message for e in r.errors}
    assert m["11010119900101123x.jpg"] == "证件号码末位的 X 应为大写，与报名信息一致"
    assert "没有证件号码与文件名一致的报名信息" in m["110101200001019999.jpg"]
    assert "全角字符" in m[f"{fullwidth}.jpg"]
    assert "空格" in m[" 110101200001010001.jpg"] and "空格" in m["110101 200001010001.jpg"]
    assert "扩展名为 .txt" in m["readme.txt"] and "扩展名为 .png" in m["photo.png"]
    assert "没有扩展名" in m["noext"]
    assert "压缩包中的压缩包不会被解开" in m["inner.zip"]
    assert "没有照片导入成功" in r.message


def test_other_sites_enrollment_is_unknown_here(seed):
    (idn,) = people(seed, 1, code="110002")
    r = run(seed, make_zip({f"{idn}.jpg": jpeg()}))
    assert "没有证件号码与文件名一致的报名信息" in r.errors[0].message


def test_duplicate_names_in_one_zip(seed):
    ids = people(seed, 2)
    r = run(seed, make_zip({f"a/{ids[0]}.jpg": jpeg(), f"b/{ids[0]}.JPG": jpeg(color=(5, 5, 5)),
                            f"{ids[1]}.jpg": jpeg()}))
    assert r.totals() == {"总数": 3, "成功": 1, "失败": 2}
    assert all("2 张以同一证件号码命名" in e.message for e in r.errors)
    assert set(directory(seed)) == {ids[1]}


def test_overwrite_rules_including_locked(seed):
    ids = people(seed, 2)
    first = {idn: jpeg(color=(10, i, 10)) for i, idn in enumerate(ids)}
    assert run(seed, make_zip({f"{k}.jpg": v for k, v in first.items()})).added == 2
    before = directory(seed)

    # the same photos again: nothing changes, no error (a fixed ZIP can be imported again)
    r = run(seed, make_zip({f"{k}.jpg": v for k, v in first.items()}))
    assert r.totals() == {"总数": 2, "成功": 2, "失败": 0} and r.unchanged == 2

    second = {idn: jpeg(color=(20, i, 20)) for i, idn in enumerate(ids)}
    r = run(seed, make_zip({f"{k}.jpg": v for k, v in second.items()}))  # not overwrite
    assert r.failed == 2 and all(e.message == ph.EXISTS_MSG for e in r.errors)
    assert directory(seed) == before

    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id_number == ids[0]).values(locked=True, photo_rejected=True))
        s.execute(update(Enrollment).where(Enrollment.id_number == ids[1]).values(photo_rejected=True))
    r = run(seed, make_zip({f"{k}.jpg": v for k, v in second.items()}), overwrite=True)
    assert r.replaced == 1 and [(e.id_number, e.message) for e in r.errors] == [(ids[0], ph.LOCKED_MSG)]
    after = directory(seed)
    assert after[ids[0]] == before[ids[0]] and after[ids[1]] != before[ids[1]]
    e = enrollment(seed, ids[1])
    assert e.photo_sha256 == after[ids[1]] and e.photo_rejected is False  # re-uploaded after 审核不通过
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(CandidatePhoto)) == 2  # updated, not duplicated


def test_photo_already_on_the_enrollment_counts_as_existing(seed):
    """A 报名信息 that shows a photo not in the directory (e.g. the candidate uploaded it) is not
    replaced without 覆盖重名照片; the very same photo only fills the directory in."""
    ids = people(seed, 2)
    mine, theirs = jpeg(color=(50, 60, 70)), jpeg(color=(70, 60, 50))
    from core.workflow import save_blob
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).where(Enrollment.id_number == ids[0]).values(photo_sha256=save_blob(theirs)))
        s.execute(update(Enrollment).where(Enrollment.id_number == ids[1]).values(photo_sha256=save_blob(mine)))
    r = run(seed, make_zip({f"{ids[0]}.jpg": mine, f"{ids[1]}.jpg": mine}))
    assert [(e.id_number, e.message) for e in r.errors] == [(ids[0], ph.EXISTS_MSG)]
    assert r.unchanged == 1 and set(directory(seed)) == {ids[1]}
    r = run(seed, make_zip({f"{ids[0]}.jpg": mine}), overwrite=True)
    assert r.added == 1 and enrollment(seed, ids[0]).photo_sha256 == directory(seed)[ids[0]]


def test_locked_enrollment_without_photo_is_refused(seed):
    (idn,) = people(seed, 1, locked=True)
    r = run(seed, make_zip({f"{idn}.jpg": jpeg()}), overwrite=True)
    assert [e.message for e in r.errors] == [ph.LOCKED_MSG]
    assert directory(seed) == {}


def test_check_portrait_heuristic(seed):
    ids = people(seed, 3)
    data = make_zip({f"{ids[0]}.jpg": jpeg(144, 192), f"{ids[1]}.jpg": jpeg(192, 144),
                     f"{ids[2]}.jpg": jpeg(100, 300)})
    r = run(seed, data, check_portrait=True)
    assert r.ok == 1 and {e.id_number for e in r.errors} == {ids[1], ids[2]}
    assert all("证件照检测未通过（简易检测）" in e.message for e in r.errors)
    # without the check the same photos pass
    r = run(seed, make_zip({f"{ids[1]}.jpg": jpeg(192, 144)}))
    assert r.ok == 1


def test_file_level_errors_raise(seed):
    people(seed, 1)
    with pytest.raises(ArchiveError, match=r"不能打成 \.RAR"):
        run(seed, b"Rar!\x1a\x07\x00" + b"\0" * 50)
    with pytest.raises(ArchiveError, match="不安全的路径"):
        run(seed, make_zip({"../x.jpg": jpeg()}))
    with pytest.raises(Exception, match="没有照片文件"):
        run(seed, make_zip({"__MACOSX/._a.jpg": b"x", "照片/": b""}))
    assert audits(seed, "import") == []


def test_who_and_when(seed):
    (idn,) = people(seed, 1)
    data = make_zip({f"{idn}.jpg": jpeg()})
    with pytest.raises(PermissionDenied, match="仅限本考点的考点管理员"):
        run(seed, data, user="site110002")
    with pytest.raises(PermissionDenied):
        run(seed, data, user="prov11")
    with pytest.raises(ReadOnlyTerm):
        run(seed, data, term="past")
    now = datetime.now()
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == site_id(seed), OpWindow.kind == "registration",
                                         OpWindow.term_id == seed.info["current_term"])
                  .values(start_at=now - timedelta(days=9), end_at=now - timedelta(days=1)))
    with pytest.raises(WindowClosed, match="报名管理时间"):
        run(seed, data)
    assert directory(seed) == {}


def test_error_report_with_more_than_1000_rows(seed):
    people(seed, 1)
    data = make_zip({f"照片/11010120000101{i:04d}.jpg": b"x" for i in range(1200)})
    r = run(seed, data)
    assert r.failed == 1200
    table = r.error_table()
    assert len(table) == 1000 and "*" in table[0]["文件"] and "*" in table[0]["证件号码"]
    wb = openpyxl.load_workbook(io.BytesIO(r.error_report()), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0] == ("序号", "文件", "证件号码", "错误信息") and len(rows) == 1201
    assert rows[1][1] == "照片/110101200001010000.jpg" and rows[1][2] == "110101200001010000"
    assert wb.active.title == "导入错误详细"


# ---------------------------------------------------------------- §24 check
def test_check_photos_relinks_leaves_paid_and_rejected_alone_and_deletes_unmatched(seed):
    ids = people(seed, 4) + people(seed, 1, start=10, paid=True)
    run(seed, make_zip({f"{idn}.jpg": jpeg(color=(i, 40, 40)) for i, idn in enumerate(ids)}))
    d = directory(seed)
    with session_scope(seed.engine) as s:
        # ids[0], ids[1]: lost their link (报名信息 deleted and re-imported); ids[2]: rejected, no photo;
        # ids[4]: paid, lost its link
        s.execute(update(Enrollment).where(Enrollment.id_number.in_([ids[0], ids[1], ids[4]]))
                  .values(photo_sha256=None))
        s.execute(update(Enrollment).where(Enrollment.id_number == ids[2])
                  .values(photo_sha256=None, photo_rejected=True))
        # a photo whose 报名信息 is gone
        s.add(CandidatePhoto(term_id=seed.info["current_term"], site_id=site_id(seed),
                             id_number="110101200001019998", sha256=d[ids[3]], size=10))
    people(seed, 1, start=20)  # enrolled, no photo anywhere

    site_actor = seed.actor("site110001")
    # the levels above see the report, nothing is written
    with session_scope(seed.engine) as s:
        view = ph.photo_status(s, seed.actor("prov11"), site_id(seed))
    assert view["counts"]["可重新关联"] == 2 and not view["applied"]
    assert enrollment(seed, ids[0]).photo_sha256 is None
    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        ph.check_photos(s, seed.actor("prov11"), site_id(seed))

    steps = []
    with session_scope(seed.engine) as s:
        out = ph.check_photos(s, site_actor, site_id(seed), progress=lambda f, t: steps.append(t))
    c = out["counts"]
    assert c["报名考生"] == 6 and c["重新关联"] == 2 and c["已匹配照片"] == 3
    assert c["无照片考生"] == 3 and c["未匹配照片"] == 1 and c["系统目录照片"] == 6
    assert steps[-1] == "检查完成"
    assert enrollment(seed, ids[0]).photo_sha256 == d[ids[0]]
    assert enrollment(seed, ids[1]).photo_sha256 == d[ids[1]]
    assert enrollment(seed, ids[2]).photo_sha256 is None  # rejected: must re-upload
    assert enrollment(seed, ids[4]).photo_sha256 is None  # §24.3 paid: unchanged
    reasons = {r["说明"] for r in out["no_photo"]}
    assert reasons == {ph.NO_PHOTO, ph.PAID_KEPT, ph.REJECTED}
    assert all("*" in r["证件号码"] for r in out["no_photo"] + out["relinked"] + out["unmatched"])
    assert out["unmatched"][0]["证件号码"].endswith("9998")
    assert "未匹配照片" in out["message"]
    assert len(audits(seed, "check")) == 1

    with session_scope(seed.engine) as s, pytest.raises(PermissionDenied):
        ph.delete_unmatched_photos(s, seed.actor("site110002"), site_id(seed))
    with session_scope(seed.engine) as s:
        assert ph.delete_unmatched_photos(s, site_actor, site_id(seed)) == 1
    assert "110101200001019998" not in directory(seed) and len(directory(seed)) == 5
    (a,) = audits(seed, "delete")
    assert a.after["count"] == 1
    with session_scope(seed.engine) as s:
        again = ph.check_photos(s, site_actor, site_id(seed))
    assert again["counts"]["重新关联"] == 0 and again["unmatched"] == []


def test_check_photos_in_past_term_is_read_only(seed):
    with session_scope(seed.engine) as s, pytest.raises(ReadOnlyTerm):
        ph.check_photos(s, seed.actor("site110001", "past"), site_id(seed))
    with session_scope(seed.engine) as s:
        view = ph.photo_status(s, seed.actor("site110001", "past"), site_id(seed))
    assert view["counts"]["报名考生"] == 0


def test_check_photos_ignores_the_window(seed):
    (idn,) = people(seed, 1)
    run(seed, make_zip({f"{idn}.jpg": jpeg()}))
    now = datetime.now()
    with session_scope(seed.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == site_id(seed), OpWindow.kind == "registration")
                  .values(start_at=now - timedelta(days=9), end_at=now - timedelta(days=1)))
        s.execute(update(Enrollment).values(photo_sha256=None))
    with session_scope(seed.engine) as s:
        out = ph.check_photos(s, seed.actor("site110001"), site_id(seed))
    assert out["counts"]["重新关联"] == 1


def test_paid_means_any_paid_registration(seed):
    (idn,) = people(seed, 1, subject_codes=("14", "15"))
    run(seed, make_zip({f"{idn}.jpg": jpeg()}))
    eid = enrollment(seed, idn).id
    with session_scope(seed.engine) as s:
        s.execute(update(Enrollment).values(photo_sha256=None))
        rid = s.scalar(select(Registration.id).where(Registration.enrollment_id == eid).order_by(Registration.id)
                       .limit(1))
        s.execute(update(Registration).where(Registration.id == rid).values(paid=True))
    with session_scope(seed.engine) as s:
        out = ph.check_photos(s, seed.actor("site110001"), site_id(seed))
    assert out["counts"]["重新关联"] == 0 and out["no_photo"][0]["说明"] == ph.PAID_KEPT
