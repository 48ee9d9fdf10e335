"""准考证 (001 §34–35), 考场签到表 (§50), 考场座次表 (§51) and the tickets' QR verification, on SQLite and
PostgreSQL. The PDFs are checked with poppler (pdftotext, pdfimages, pdffonts, pdftoppm) and the QR codes
are decoded from the rendered page with zxing-cpp."""
from __future__ import annotations

import io
import random
import re
import subprocess
import zipfile
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import select

from core.db import session_scope
from core.errors import DomainError, NotFound
from core.exports import pdf as P
from core.models import Enrollment, ExamTerm, Org, Registration
from core.models.arrange import ExamRoom, ExamSession
from core.services import tickets as tk
from core.workflow import save_blob
from tests.factories import add_candidates

SITE, OTHER = "110001", "110002"


@pytest.fixture(autouse=True)
def file_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))


def noisy_jpeg(seed: int) -> bytes:
    rnd = random.Random(seed)
    img = Image.frombytes("RGB", (48, 64), bytes(rnd.randrange(256) for _ in range(48 * 64 * 3)))
    buf = io.BytesIO()
    img.resize((144, 192)).save(buf, "JPEG", quality=60)
    return buf.getvalue()


def arrange(s, site_id: int, term_id: int, room_code: str, sessions, *, start: int, photos: bool = True,
            no_photo: int | None = None) -> list[str]:
    """A room with sessions [(count, subject_code, start_at)], candidates placed seat 1.. with ticket
    numbers 14701100 01 <room><seq><seat>; distinct photos (except the `no_photo`-th). Returns the ticket
    numbers."""
    room = ExamRoom(term_id=term_id, site_id=site_id, code=room_code, address=f"实验楼{room_code}室")
    s.add(room)
    s.flush()
    out, k = [], start
    for seq, (count, subject, at) in enumerate(sessions, 1):
        sess = ExamSession(term_id=term_id, site_id=site_id, room_id=room.id, seq=seq, capacity=30, start_at=at,
                           end_at=at.replace(hour=at.hour + 1, minute=30))
        s.add(sess)
        s.flush()
        eids = add_candidates(s, site_id, term_id, count, subject_codes=(subject,), start=k, paid=True)
        for seat, eid in enumerate(eids, 1):
            e = s.get(Enrollment, eid)
            e.name = f"考生{k}号"
            e.class_name = ["会计二班", "会计一班", None][k % 3]
            if photos and k != no_photo:
                e.photo_sha256 = save_blob(noisy_jpeg(k))
            reg = s.scalar(select(Registration).where(Registration.enrollment_id == eid))
            reg.session_id, reg.seat_no = sess.id, seat
            reg.ticket_no = f"14701100{site_id % 100:02d}{room_code}{seq:02d}{seat:02d}"
            out.append(reg.ticket_no)
            k += 1
    s.flush()
    return out


@pytest.fixture
def world(seed):
    tid = seed.info["current_term"]
    with session_scope(seed.engine) as s:
        a = arrange(s, seed.orgs[SITE], tid, "07", [(5, "14", datetime(2025, 9, 20, 9, 0)),
                                                    (8, "65", datetime(2025, 9, 20, 13, 30))], start=0, no_photo=2)
        b = arrange(s, seed.orgs[OTHER], tid, "01", [(2, "14", datetime(2025, 9, 21, 9, 0))], start=100)
    seed.tickets, seed.other_tickets = a, b
    return seed


def rows_for(w, user="site" + SITE, order="room", site=SITE, **kw):
    with session_scope(w.engine) as s:
        return tk.ticket_rows(s, w.actor(user), w.orgs[site], order=order, **kw)


def pdf_text(data: bytes, tmp_path, page: int | None = None, layout: bool = False) -> str:
    f = tmp_path / "x.pdf"
    f.write_bytes(data)
    args = ["pdftotext"] + (["-f", str(page), "-l", str(page)] if page else []) + (["-layout"] if layout else [])
    return subprocess.run(args + [str(f), "-"], capture_output=True, text=True, check=True).stdout


def pdf_pages(data: bytes, tmp_path) -> int:
    f = tmp_path / "p.pdf"
    f.write_bytes(data)
    out = subprocess.run(["pdfinfo", str(f)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def jpeg_images(data: bytes, tmp_path) -> list[tuple[int, int]]:
    """(page, object id) of the embedded JPEG photos (pdfimages -list, 'jpeg' encoding)."""
    f = tmp_path / "i.pdf"
    f.write_bytes(data)
    out = subprocess.run(["pdfimages", "-list", str(f)], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in out.splitlines()[2:] if ln.strip()]
    return [(int(r[0]), int(r[10])) for r in rows if r[8] == "jpeg"]


def fonts(data: bytes, tmp_path) -> list[list[str]]:
    f = tmp_path / "f.pdf"
    f.write_bytes(data)
    out = subprocess.run(["pdffonts", str(f)], capture_output=True, text=True, check=True).stdout
    return [ln.split() for ln in out.splitlines()[2:] if ln.strip()]


def decode_qr(data: bytes, tmp_path, page: int = 1, dpi: int = 150) -> list[str]:
    import zxingcpp

    f = tmp_path / "q.pdf"
    f.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), str(f),
                    str(tmp_path / "q")], check=True)
    png = next(tmp_path.glob("q-*.png"))
    res = sorted(r.text for r in zxingcpp.read_barcodes(Image.open(png)))
    png.unlink()
    return res


def members(zdata: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zdata)) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        return {i.filename: z.read(i) for i in z.infolist()}


# ---------------------------------------------------------------- verification code and QR (pure)
def test_verify_code_is_8_base32_chars_and_keyed():
    c = tk.verify_code("k1", "1470110001070101")
    assert re.fullmatch(r"[A-Z2-7]{8}", c)
    assert c == tk.verify_code("k1", "1470110001070101")
    assert c != tk.verify_code("k2", "1470110001070101")
    assert c != tk.verify_code("k1", "1470110001070102")
    assert tk.parse_ticket_text(" 1470110001070101|abcd2345 ") == ("1470110001070101", "ABCD2345")
    assert tk.parse_ticket_text("1470110001070101", "ab cd") == ("1470110001070101", "ABCD")


def test_fast_qr_matrix_equals_segno():
    import segno

    rnd = random.Random(5)
    for length in (1, 17, 25, 26, 30, 45):
        for _ in range(20):
            text = "".join(rnd.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ|") for _ in range(length))
            n, bits = P.qr_matrix(text)
            q = segno.make_qr(text.encode(), error="m", mode="byte", mask=0, boost_error=False)
            assert n == len(q.matrix)
            assert bits == "".join("1" if v else "0" for row in q.matrix for v in row), text


def test_font_choice_falls_back_to_full_font_for_rare_characters(tmp_path):
    assert P.font_file_for("张三北京") == P.COMMON_FONT
    assert P.font_file_for("王堃") == P.FULL_FONT  # 堃 is not in GB2312
    row = P.TicketData("1470110001070101", "ABCD2345", "王堃", "男", "居民身份证", "110101200001010011", "14",
                       "一级计算机基础及MS Office应用", datetime(2025, 9, 20, 9), datetime(2025, 9, 20, 10, 30),
                       "07", "07#1", 1, "", "110001", "考点", "地址", "第70次", None)
    data = P.render_small_tickets([row])
    assert "王堃" in pdf_text(data, tmp_path)
    f = fonts(data, tmp_path)
    assert len(f) == 1 and "WenQuanYi" in f[0][0] and f[0][-5:-2] == ["yes", "yes", "yes"]


# ---------------------------------------------------------------- key and rows
def test_ticket_key_is_created_once(world):
    with session_scope(world.engine) as s:
        term = s.get(ExamTerm, world.info["current_term"])
        term.ticket_key = None
        s.flush()
        k1 = tk.ticket_key(s, term)
        assert len(k1) == 64
    with session_scope(world.engine) as s:
        assert tk.ticket_key(s, world.info["current_term"]) == k1
        assert s.get(ExamTerm, world.info["current_term"]).ticket_key == k1


def test_ticket_rows_orders_masking_and_scope(world):
    rows = rows_for(world)
    assert [r.ticket_no for r in rows] == world.tickets  # room, session, seat
    r0 = rows[0]
    assert (r0.session_number, r0.seat_no, r0.room_code, r0.subject_code) == ("07#1", 1, "07", "14")
    assert r0.start == datetime(2025, 9, 20, 9, 0) and r0.end == datetime(2025, 9, 20, 10, 30)
    assert r0.site_code == SITE and r0.site_name and r0.term_name and r0.room_address == "实验楼07室"
    assert rows[2].photo_sha256 is None and all(r.photo_sha256 for i, r in enumerate(rows) if i != 2)
    with session_scope(world.engine) as s:
        key = tk.ticket_key(s, world.info["current_term"])
        full = {e.id: e.id_number for e in s.scalars(select(Enrollment))}
    assert all(r.verify_code == tk.verify_code(key, r.ticket_no) for r in rows)
    # the site's own admin prints the full ID on the tickets; everyone above sees it masked
    assert all(r.id_number == full[r.enrollment_id] for r in rows)
    city = rows_for(world, "city1101")
    assert [r.ticket_no for r in city] == world.tickets
    assert all(r.id_number != full[r.enrollment_id] and "*" in r.id_number for r in city)
    assert rows_for(world, "center")[0].id_number.count("*") > 5
    # orders
    by_ticket = rows_for(world, order="ticket")
    assert [r.ticket_no for r in by_ticket] == sorted(world.tickets)
    by_name = rows_for(world, order="name")
    assert [r.name for r in by_name] == sorted(r.name for r in rows)
    by_class = rows_for(world, order="class")
    keys = [(r.class_name == "", r.class_name, r.ticket_no) for r in by_class]
    assert keys == sorted(keys) and by_class[0].class_name == "会计一班" and by_class[-1].class_name == ""
    # enrollment filter
    some = rows_for(world, enrollment_ids=[rows[3].enrollment_id, rows[5].enrollment_id])
    assert [r.ticket_no for r in some] == [rows[3].ticket_no, rows[5].ticket_no]
    # scope: another site's admin cannot read this site
    with pytest.raises(NotFound):
        rows_for(world, "site" + OTHER)
    with session_scope(world.engine) as s:
        empty = s.scalar(select(Org.code).where(Org.kind == "site", Org.code.not_in((SITE, OTHER))))
    with pytest.raises(DomainError, match="没有已生成准考证号的考生"):
        rows_for(world, "center", site=empty)
    with pytest.raises(DomainError, match="不是考点"):
        rows_for(world, "center", site="1101")
    with pytest.raises(DomainError, match="未知"):
        rows_for(world, order="bogus")


def test_unnumbered_or_unplaced_registrations_are_left_out(world):
    with session_scope(world.engine) as s:
        reg = s.scalar(select(Registration).where(Registration.ticket_no == world.tickets[0]))
        reg.ticket_no = None
    assert [r.ticket_no for r in rows_for(world)] == world.tickets[1:]


# ---------------------------------------------------------------- small tickets
def test_small_tickets_six_per_page_with_photos_fonts_and_qr(world, tmp_path):
    rows = rows_for(world)
    assert len(rows) == 13
    z = members(tk.tickets_zip(rows, layout="small", workers=1))
    assert list(z) == [f"{SITE}_小版准考证_001.pdf"]
    data = z[f"{SITE}_小版准考证_001.pdf"]
    assert pdf_pages(data, tmp_path) == 3
    text = pdf_text(data, tmp_path)
    for r in rows:
        assert r.name in text and r.ticket_no in text and r.verify_code in text and r.id_number in text
    assert [pdf_text(data, tmp_path, p).count(P.TITLE) for p in (1, 2, 3)] == [6, 6, 1]
    page3 = pdf_text(data, tmp_path, 3)
    assert rows[12].name in page3 and rows[11].name not in page3
    assert "无照片" in pdf_text(data, tmp_path, 1)  # the third candidate has no photo
    imgs = jpeg_images(data, tmp_path)
    assert len(imgs) == 12 and len({o for _p, o in imgs}) == 12
    assert [sum(1 for p, _o in imgs if p == n) for n in (1, 2, 3)] == [5, 6, 1]
    f = fonts(data, tmp_path)
    assert len(f) == 1 and "WenQuanYi" in f[0][0] and f[0][-5:-2] == ["yes", "yes", "yes"]  # emb sub uni
    # the QR codes decode to "<ticket>|<code>" (rendered at 150 dpi)
    assert decode_qr(data, tmp_path, 1) == sorted(f"{r.ticket_no}|{r.verify_code}" for r in rows[:6])
    assert decode_qr(data, tmp_path, 3) == [f"{rows[12].ticket_no}|{rows[12].verify_code}"]


def test_small_tickets_in_parallel_chunks(world, tmp_path, monkeypatch):
    monkeypatch.setitem(tk.CHUNK, "small", 6)
    monkeypatch.setitem(tk.PARALLEL_MIN, "small", 1)
    rows = rows_for(world, order="ticket")
    seen = []
    z = members(tk.tickets_zip(rows, layout="small", workers=2, progress=lambda f, t: seen.append(f)))
    assert list(z) == [f"{SITE}_小版准考证_{i:03d}.pdf" for i in (1, 2, 3)]
    texts = [pdf_text(z[n], tmp_path) for n in z]
    for i, r in enumerate(rows):  # each chunk holds its slice, in order
        assert r.ticket_no in texts[i // 6]
    assert [pdf_pages(z[n], tmp_path) for n in z] == [1, 1, 1]
    assert seen == sorted(seen) and seen[-1] >= 0.95


def test_large_tickets_one_per_page_with_notice(world, tmp_path):
    rows = rows_for(world, "city1101")
    z = members(tk.tickets_zip(rows, layout="large"))
    assert list(z) == [f"{SITE}_大版准考证_001.pdf"]
    data = z[f"{SITE}_大版准考证_001.pdf"]
    assert pdf_pages(data, tmp_path) == 13
    for i in (1, 13):
        page = pdf_text(data, tmp_path, i)
        assert page.count(P.TITLE) == 1 and P.NOTICE_TITLE in page
        assert rows[i - 1].name in page and rows[i - 1].ticket_no in page and rows[i - 1].id_number in page
        assert "*" in rows[i - 1].id_number  # the city admin's copy carries masked IDs
    text = pdf_text(data, tmp_path).replace("\n", "")
    assert "30 分钟" in text and "国家教育考试违规处理办法" in text
    assert len(jpeg_images(data, tmp_path)) == 12
    assert decode_qr(data, tmp_path, 2, dpi=100) == [f"{rows[1].ticket_no}|{rows[1].verify_code}"]
    one = tk.tickets_pdf(rows[:2], layout="large")
    assert pdf_pages(one, tmp_path) == 2


# ---------------------------------------------------------------- sign-in sheets and seating charts
def test_signin_sheets_per_session_with_photos(world, tmp_path):
    rows = rows_for(world)
    z = members(tk.signin_zip(rows, workers=1))
    assert list(z) == ["07#1_签到表.pdf", "07#2_签到表.pdf"]
    t1, t2 = pdf_text(z["07#1_签到表.pdf"], tmp_path), pdf_text(z["07#2_签到表.pdf"], tmp_path)
    for r in rows[:5]:
        assert r.name in t1 and r.ticket_no in t1 and r.id_number in t1 and r.name not in t2
    for r in rows[5:]:
        assert r.name in t2 and r.ticket_no in t2
    assert "考场签到表" in t1 and "监考员签名" in t1 and "签名" in t1 and "07#1" in t1 and "应到人数：5" in t1
    assert len(jpeg_images(z["07#1_签到表.pdf"], tmp_path)) == 4  # one of the five has no photo
    assert len(jpeg_images(z["07#2_签到表.pdf"], tmp_path)) == 8
    assert "无照片" in t1


def test_signin_sheet_pages_and_parallel(world, tmp_path, monkeypatch):
    rows = rows_for(world)
    many = [tk.TicketRow(**{**r.__dict__, "seat_no": i + 1, "ticket_no": f"{r.ticket_no[:-2]}{i + 1:02d}",
                            "session_number": "07#1"}) for i, r in enumerate(rows * 2)]
    data = members(tk.signin_zip(many, workers=1))["07#1_签到表.pdf"]
    assert pdf_pages(data, tmp_path) == 3  # 26 rows, 11 per page
    assert "监考员签名" in pdf_text(data, tmp_path, 3) and "监考员签名" not in pdf_text(data, tmp_path, 1)
    monkeypatch.setitem(tk.PARALLEL_MIN, "sheets", 1)
    z = members(tk.seating_zip(rows, workers=2))
    assert list(z) == ["07#1_座次表.pdf", "07#2_座次表.pdf"]
    # several sessions in one job share a font cut to their characters: still complete and embedded
    split = [tk.TicketRow(**{**r.__dict__, "session_number": f"07#{i // 3 + 1}"}) for i, r in enumerate(rows)]
    z = members(tk.signin_zip(split, workers=1))
    assert list(z) == [f"07#{k}_签到表.pdf" for k in range(1, 6)]
    for k in range(5):
        text = pdf_text(z[f"07#{k + 1}_签到表.pdf"], tmp_path)
        assert all(r.name in text and r.ticket_no in text for r in split[k * 3:k * 3 + 3])
        assert "考场签到表" in text and "监考员签名" in text
        f = fonts(z[f"07#{k + 1}_签到表.pdf"], tmp_path)
        assert len(f) == 1 and "WenQuanYi" in f[0][0] and f[0][-5:-2] == ["yes", "yes", "yes"]


def test_seating_charts(world, tmp_path):
    rows = rows_for(world, "city1101")
    z = members(tk.seating_zip(rows))
    assert list(z) == ["07#1_座次表.pdf", "07#2_座次表.pdf"]
    t2 = pdf_text(z["07#2_座次表.pdf"], tmp_path)
    assert "考场座次表" in t2 and "讲" in t2
    for r in rows[5:]:
        assert r.name in t2 and r.ticket_no in t2 and f"{r.seat_no:02d} 号" in t2
    assert rows[0].name not in t2
    assert pdf_pages(z["07#2_座次表.pdf"], tmp_path) == 1


def test_pages_render_cleanly(world, tmp_path):
    """pdftoppm renders a ticket page and a sign-in page without complaint (the layout itself was
    checked by eye on these PNGs)."""
    rows = rows_for(world)
    for name, data in (("t", tk.tickets_pdf(rows, "small")),
                       ("s", members(tk.signin_zip(rows))["07#2_签到表.pdf"])):
        (tmp_path / f"{name}.pdf").write_bytes(data)
        res = subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(tmp_path / f"{name}.pdf"),
                              str(tmp_path / name)], capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr.strip()
        png = Image.open(next(tmp_path.glob(f"{name}-*.png")))
        assert png.size[0] == 662 and png.size[1] in (935, 936)  # A4 at 80 dpi


# ---------------------------------------------------------------- verification
def test_check_ticket_round_trip_wrong_code_and_scope(world):
    rows = rows_for(world)
    r = rows[6]
    site, city, other_site = world.actor("site" + SITE), world.actor("city1101"), world.actor("site" + OTHER)
    with session_scope(world.engine) as s:
        ok = tk.check_ticket(s, site, f"{r.ticket_no}|{r.verify_code}")
        assert ok.valid and ok.name == r.name and ok.ticket_no == r.ticket_no
        assert ok.id_number != r.id_number and "*" in ok.id_number  # masked in the check
        assert ok.subject.startswith("65") and ok.room.startswith("07#2") and ok.seat == "02"
        assert ok.time == "2025-09-20 13:30–14:30" and SITE in ok.site
        assert tk.check_ticket(s, site, r.ticket_no, r.verify_code.lower()).valid
        bad_code = ("A" if r.verify_code[0] != "A" else "B") + r.verify_code[1:]
        bad = tk.check_ticket(s, site, r.ticket_no, bad_code)
        assert not bad.valid and bad.name is None and "校验码不正确" in bad.message
        assert not tk.check_ticket(s, site, r.ticket_no).valid  # a code is required
        assert not tk.check_ticket(s, site, "1470110001999999|ABCDEFGH").valid
        assert not tk.check_ticket(s, site, "x' or 1=1 --|ABCDEFGH").valid
        # the city above sees it; another site's admin does not (no existence leak)
        assert tk.check_ticket(s, city, f"{r.ticket_no}|{r.verify_code}").valid
        other = tk.check_ticket(s, other_site, f"{r.ticket_no}|{r.verify_code}")
        assert not other.valid and other.name is None and "不存在或不在您的管理范围内" in other.message
        # and a code of another 考次's key does not pass
        assert not tk.check_ticket(s, site, r.ticket_no, tk.verify_code("other-key", r.ticket_no)).valid
