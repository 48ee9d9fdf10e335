"""准考证 benchmark (001 §34): prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_tickets [--n 10000] [--workers 2] [--no-naive] [--sheets]

(1) N distinct small JPEG photos (Pillow, ~15 KB each) in a temporary file store, N ticket rows
    (distinct names, ticket numbers, 50 seats per session, 3 subjects);
(2) the fast path: core.services.tickets.tickets_zip(rows, "small", workers) — PDFs of 1,200 tickets,
    6 per A4, raw text operators with cached encodings, JPEG passthrough, QR from the linear table,
    rendered in a process pool;
(3) in the same run the naive path: one fpdf2 document in this process, `multi_cell` per field, the photo
    with `image()`, the QR made by segno (automatic mask) and embedded as a PNG — on --naive-n tickets
    (default 2,000; it costs ~25 ms a ticket) and its times scaled to N;
(4) with --sheets: 考场签到表 and 考场座次表 ZIPs (one PDF per session).
Target: 10,000 small tickets with distinct photos <= 10 s wall on 2 cores.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

TARGET = 10.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅玉兰文辉鹏飞宇浩然子涵欣怡梓萱一诺雨轩晨阳思远博文俊杰"
SUBJECTS = [("14", "一级计算机基础及MS Office应用"), ("65", "二级Python语言程序设计"), ("35", "三级网络技术")]


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the machine is shared: wall time moves
    with the load, CPU time much less)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _rss_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def make_photos(n: int, seed: int = 7) -> list[bytes]:
    """n distinct 144x192 JPEGs of ~15 KB (a noisy portrait-like picture, each different)."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    noise = Image.effect_noise((144, 192), 64).convert("RGB")
    out = []
    for i in range(n):
        img = Image.new("RGB", (144, 192), (rnd.randrange(150, 255), rnd.randrange(150, 255), rnd.randrange(150, 255)))
        img = Image.blend(img, noise, 0.55)
        d = ImageDraw.Draw(img)
        d.ellipse((40 + rnd.randrange(-8, 8), 30, 104 + rnd.randrange(-8, 8), 105), fill=(rnd.randrange(90, 160), 90, 70))
        d.rectangle((20, 120, 124, 192), fill=(rnd.randrange(0, 90), rnd.randrange(0, 90), 120))
        d.text((4, 4), f"{i:05d}", fill=(0, 0, 0))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def make_rows(n: int, photos: list[str]):
    from core.services.tickets import TicketRow, verify_code

    rnd = random.Random(3)
    key = "k" * 64
    rows = []
    for i in range(n):
        room, seq_seat = divmod(i, 150)
        seq, seat = divmod(seq_seat, 50)
        scode, sname = SUBJECTS[seq]
        start = datetime(2025, 9, 20, 8, 30) + timedelta(hours=2 * seq)
        tno = f"1470110001{room + 1:02d}{seq + 1:02d}{seat + 1:02d}"[:16] if room < 99 else f"14{i:014d}"
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        rows.append(TicketRow(tno, verify_code(key, tno), name, "男" if i % 2 else "女", "居民身份证",
                              f"110101200{i % 10}0101{i % 1000:03d}{i % 10}", scode, sname, start,
                              start + timedelta(minutes=90), f"{room + 1:02d}", f"{room + 1:02d}#{seq + 1}", seat + 1,
                              f"实验楼{300 + room}", "110001", "北京市第一考点（北京大学）",
                              "北京市海淀区颐和园路5号北京大学理科教学楼二层机房，东门进入",
                              "2025年9月全国计算机等级考试（第70次）", photos[i], "会计一班", "经济学院", i + 1, i + 1))
    return rows


def naive_pdf(rows) -> bytes:
    """The obvious way: one fpdf2 document, multi_cell per field, segno QR as a PNG, nothing reused."""
    import segno
    from fpdf import FPDF

    from core.exports.pdf import FULL_FONT, fmt_time
    from core.workflow import file_path

    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("wqy", "", str(FULL_FONT))
    for i, r in enumerate(rows):
        if i % 6 == 0:
            pdf.add_page()
        X, Y = 5 + (i % 2) * 100, 4.5 + ((i % 6) // 2) * 96
        pdf.rect(X + 1.5, Y + 1.5, 97, 93)
        pdf.set_font("wqy", size=13)
        pdf.set_xy(X, Y + 4)
        pdf.multi_cell(100, 6, "全国计算机等级考试准考证", align="C")
        pdf.set_font("wqy", size=8)
        pdf.set_x(X)
        pdf.multi_cell(100, 4, r.term_name, align="C")
        pdf.set_font("wqy", size=9)
        pdf.set_y(Y + 18)
        for label, value in (("姓名", r.name), ("性别", r.gender), ("证件号码", r.id_number), ("准考证号", r.ticket_no),
                             ("科目", f"{r.subject_code} {r.subject_name}"), ("考试时间", fmt_time(r.start, r.end)),
                             ("考场批次", f"{r.session_number}  座位号：{r.seat_no:02d}"), ("考场地址", r.room_address),
                             ("考点名称", f"{r.site_code} {r.site_name}"), ("考点地址", r.site_address)):
            pdf.set_x(X + 5)
            pdf.multi_cell(66, 5, f"{label}：{value}")
        if r.photo_sha256:
            pdf.image(str(file_path(r.photo_sha256)), X + 73.5, Y + 19, 22, 29.3)
        buf = io.BytesIO()
        segno.make(f"{r.ticket_no}|{r.verify_code}", error="m").save(buf, kind="png", scale=4, border=0)
        buf.seek(0)
        pdf.image(buf, X + 74.5, Y + 61, 20, 20)
        pdf.set_xy(X + 70, Y + 82)
        pdf.multi_cell(29, 4, r.verify_code, align="C")
    return bytes(pdf.output())


def pdf_pages(data: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
    return int(next(ln.split()[-1] for ln in out.splitlines() if ln.startswith("Pages:")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--naive-n", type=int, default=2000,
                    help="tickets for the naive path (~25 ms each; its time is scaled to N linearly)")
    ap.add_argument("--sheets", action="store_true", help="also time the 签到表 and 座次表 ZIPs")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    tmp = tempfile.TemporaryDirectory(prefix="bench-tickets-")
    os.environ["KAOWU_FILE_STORE"] = str(Path(tmp.name) / "files")

    from core.services import tickets
    from core.workflow import save_blob

    t = time.perf_counter()
    photos = make_photos(a.n)
    shas = [save_blob(p) for p in photos]
    avg_kb = sum(map(len, photos)) / len(photos) / 1024
    rows = make_rows(a.n, shas)
    print(f"data: {a.n} rows, {len(set(shas))} distinct photos of {avg_kb:.1f} KB on average "
          f"({time.perf_counter() - t:.1f} s to make)")
    del photos

    load = os.getloadavg()[0]
    tracemalloc.start()
    c, t = _cpu(), time.perf_counter()
    data = tickets.tickets_zip(rows, layout="small", workers=a.workers)
    fast = time.perf_counter() - t
    fast_cpu = _cpu() - c
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    pages = sum(pdf_pages(b) for _n, b in members)
    ok = "OK" if fast <= TARGET else "MISSED"
    print(f"fast   : {fast:6.2f} s wall  ({a.workers} workers)  {len(members)} PDFs, {pages} pages, "
          f"ZIP {len(data) / 1e6:.1f} MB   target <= {TARGET:.0f} s: {ok}")
    print(f"         CPU {fast_cpu:.2f} s (self + workers); load average before the run {load:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"         peak memory: main maxrss {_rss_mb(resource.RUSAGE_SELF):.0f} MB, children maxrss "
          f"{_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB, main tracemalloc peak {peak / 1e6:.0f} MB")

    t = time.perf_counter()
    tickets.tickets_zip(rows[:1200], layout="small", workers=1)
    one = time.perf_counter() - t
    print(f"fast, 1 process, 1,200 tickets (one PDF): {one:.2f} s ({one / 1200 * 1000:.2f} ms per ticket)")

    if a.sheets:
        for name, fn in (("签到表", tickets.signin_zip), ("座次表", tickets.seating_zip)):
            t = time.perf_counter()
            z = fn(rows, workers=a.workers)
            n_pdf = len(zipfile.ZipFile(io.BytesIO(z)).infolist())
            print(f"{name}: {time.perf_counter() - t:6.2f} s wall, {n_pdf} PDFs, ZIP {len(z) / 1e6:.1f} MB")
        t = time.perf_counter()
        tickets.tickets_zip(rows, layout="large", workers=a.workers)
        print(f"大版准考证: {time.perf_counter() - t:6.2f} s wall, {a.n} pages")

    if not a.no_naive:
        rss0 = _rss_mb(resource.RUSAGE_SELF)
        nn = min(a.naive_n, a.n)
        c, t = _cpu(), time.perf_counter()
        naive = naive_pdf(rows[:nn])
        slow = (time.perf_counter() - t) * a.n / nn
        slow_cpu = (_cpu() - c) * a.n / nn
        if nn < a.n:
            print(f"naive path run on the first {nn} tickets, times scaled x{a.n / nn:.1f} to {a.n}")
        print(f"naive  : {slow:6.2f} s wall  (1 process, multi_cell per field)  1 PDF, {pdf_pages(naive)} pages, "
              f"{len(naive) / 1e6:.1f} MB; main maxrss {_rss_mb(resource.RUSAGE_SELF):.0f} MB (was {rss0:.0f})")
        print(f"         CPU {slow_cpu:.2f} s")
        print(f"ratio  : naive / fast = {slow / fast:.1f}x wall, {slow_cpu / fast_cpu:.1f}x CPU")
    tmp.cleanup()


if __name__ == "__main__":
    main()
