"""DBF writer benchmark (001 §47 机考数据; score exports later): prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_dbf [--rows 100000] [--repeat 3]

Writes the 15-field machine-exam record (core.services.cbt.CBT_FIELDS: GBK text, N, D) for N rows with
distinct names, ID and ticket numbers, and compares with a naive writer (every field formatted and
encoded one by one, the record concatenated with +=, no caching) on the same rows. Target: 100,000
rows well under 5 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import struct
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹"
         "霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君"
         "琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可")
SUBJECTS = [("14", "二级MS Office高级应用与设计"), ("15", "二级Python语言程序设计"), ("24", "二级C语言程序设计"),
            ("16", "二级WPS Office高级应用与设计"), ("35", "三级网络技术"), ("41", "四级网络工程师")]


def make_rows(n: int) -> list[tuple]:
    day = date(2026, 3, 28)
    rows = []
    for i in range(n):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        if i % 3:
            name += GIVEN[(i * 13) % len(GIVEN)]
        code, subj = SUBJECTS[i % len(SUBJECTS)]
        room, rest = divmod(i, 90)
        seq, seat = divmod(rest, 30)
        start = datetime.combine(day, datetime.min.time()) + timedelta(hours=8 + 2 * seq, minutes=30)
        rows.append((f"{code}70110001{room % 100:02d}{seq + 1:02d}{seat + 1:02d}", name, "男" if i % 2 else "女",
                     "居民身份证", f"110101{19900101 + i % 9000:08d}{i % 1000:03d}X", code, subj, f"{room % 100:02d}",
                     seq + 1, seat + 1, day, f"{start:%H:%M}", f"{start + timedelta(hours=2):%H:%M}", "110001",
                     "北京理工大学考点"))
    return rows


def naive_dbf(fields, rows, encoding="gbk") -> bytes:
    """The obvious writer: per field, format and encode; the record grows by +=; the file by +=."""
    body = b""
    chunks = []
    for row in rows:
        rec = b" "
        for f, v in zip(fields, row):
            if f.type == "C":
                b = ("" if v is None else str(v)).encode(encoding, "replace")
                if len(b) > f.length:
                    b = b[:f.length].decode(encoding, "ignore").encode(encoding)
                rec += b + b" " * (f.length - len(b))
            elif f.type == "N":
                rec += ("" if v is None else str(v)).rjust(f.length).encode("ascii")
            elif f.type == "D":
                rec += v.strftime("%Y%m%d").encode("ascii") if v else b" " * 8
            else:
                rec += b"T" if v else b"F"
        chunks.append(rec)
        if len(chunks) >= 1000:  # pure += over 25 MB would be quadratic; be fair to the naive path
            body += b"".join(chunks)
            chunks.clear()
    body += b"".join(chunks)
    head = struct.pack("<BBBBIHH16xBB2x", 3, 126, 1, 1, len(rows), 32 + 32 * len(fields) + 1,
                       1 + sum(f.length for f in fields), 0, 0x4D)
    desc = b"".join(struct.pack("<11sc4xBB14x", f.name.encode(), f.type.encode(), f.length, f.decimals)
                    for f in fields)
    return head + desc + b"\r" + body + b"\x1a"


def timed(fn, repeat: int) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from core.exports.dbf import write_dbf
    from core.services.cbt import CBT_FIELDS

    print(f"Kaowu DBF bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU, Python "
          f"{sys.version.split()[0]}, {args.rows} rows × {len(CBT_FIELDS)} fields, median of {args.repeat}")
    rows = make_rows(args.rows)
    fast, data = timed(lambda: write_dbf(CBT_FIELDS, rows, "gbk"), args.repeat)
    slow, naive = timed(lambda: naive_dbf([f for f in CBT_FIELDS], rows), args.repeat)
    print(f"(1) write_dbf:  {fast:.2f} s  ({len(data) / 1024 / 1024:.1f} MB, {args.rows / fast:,.0f} rows/s)")
    print(f"(2) naive:      {slow:.2f} s  (ratio naive/write_dbf {slow / fast:.1f}×)")
    print(f"    same records: {data[32:] == naive[32:]}")
    try:
        import tempfile

        from dbfread import DBF
        with tempfile.NamedTemporaryFile(suffix=".dbf") as f:
            f.write(data)
            f.flush()
            t = time.perf_counter()
            n = sum(1 for _ in DBF(f.name, encoding="gbk"))
            print(f"(3) dbfread reads it back: {n} records in {time.perf_counter() - t:.2f} s")
    except ImportError:
        print("(3) dbfread not installed: read-back skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
