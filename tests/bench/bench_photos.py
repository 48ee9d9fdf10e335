"""Photo import benchmark (001 §23–24): prints figures, asserts nothing.

    .venv/bin/python -m tests.bench.bench_photos [--photos 10000] [--repeat 2] [--naive 2000] [--dir /dev/shm]

A demo world on a fresh SQLite file, N enrollments at one site (Core insert executemany), and a ZIP of N
small, valid, distinct JPEGs (~20 KB of noise each, made distinct by a JPEG comment segment; stored and
deflated variants). Times:
(1) import_photos, the real path (one query for enrollments, one for the directory, bulk writes, one commit),
    with a phase split (ZIP + content checks alone);
(2) a naive path for the ratio: per photo, look the enrollment and the directory up, add, commit;
(3) check_photos after every link was lost (relinks N).
Target: 10,000 photos validated and stored in <= 15 s.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COOKIE_KEY = "bench-cookie-key-" + "p" * 40


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def id_number(i: int) -> str:
    from core.imports.engine import id_check_char

    first17 = f"{110000 + i // 1000:06d}19900101{i % 1000:03d}"  # region varies: unique for i < 890,000
    return first17 + id_check_char(first17)


def make_photos(n: int) -> list[bytes]:
    """n distinct valid JPEGs: 16 noisy 144×192 bases, each copy with its index in a COM segment."""
    from PIL import Image

    rnd = random.Random(23)
    bases = []
    for _ in range(16):
        img = Image.frombytes("RGB", (144, 192), bytes(rnd.randrange(256) for _ in range(144 * 192 * 3)))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=60)
        bases.append(buf.getvalue())
    out = []
    for i in range(n):
        b = bases[i % len(bases)]
        text = f"kaowu bench photo {i}".encode()
        out.append(b[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + b[2:])
    return out


def make_zip(ids: list[str], photos: list[bytes], method: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for idn, data in zip(ids, photos):
            zf.writestr(f"照片/{idn}.jpg", data)
    return buf.getvalue()


def seed(eng, n: int) -> tuple[object, int, int, list[str]]:
    """The demo world plus n enrollments at site 110001, via Core executemany."""
    from sqlalchemy import insert, select

    from core.db import session_scope
    from core.models import Candidate, Enrollment, Org
    from core.services.demo import load_demo
    from core.services.setup import create_admin
    from tests.factories import World

    with session_scope(eng) as s:
        create_admin(s, "admin", password="Admin12345")
        info = load_demo(s, log=lambda *_: None)
    w = World(info=info)
    w.engine = eng
    with session_scope(eng) as s:
        site = s.scalar(select(Org.id).where(Org.code == "110001"))
    term = info["current_term"]
    ids = [id_number(i) for i in range(n)]
    t = time.perf_counter()
    with eng.begin() as conn:
        conn.execute(insert(Candidate), [dict(id_number=idn, name=f"考生{i}", gender="男", id_type="居民身份证",
                                              birth_date=date(1990, 1, 1)) for i, idn in enumerate(ids)])
        cand = dict(conn.execute(select(Candidate.id_number, Candidate.id)).all())
        conn.execute(insert(Enrollment), [dict(term_id=term, site_id=site, candidate_id=cand[idn], channel="group",
                                               locked=False, is_registry=False, photo_rejected=False,
                                               id_type="居民身份证", id_number=idn, name=f"考生{i}", gender="男",
                                               birth_date=date(1990, 1, 1)) for i, idn in enumerate(ids)])
    print(f"    seeded {n} candidates + enrollments with Core executemany in {time.perf_counter() - t:.2f} s")
    return w, site, term, ids


def reset(eng, store: Path) -> None:
    """Forget every photo: empty directory, no links, empty file store."""
    from sqlalchemy import delete, update

    from core.models import CandidatePhoto, Enrollment

    with eng.begin() as conn:
        conn.execute(delete(CandidatePhoto))
        conn.execute(update(Enrollment).values(photo_sha256=None))
    shutil.rmtree(store, ignore_errors=True)


def naive_import(eng, actor, site: int, data: bytes, filename: str) -> int:
    """The slow path, for the ratio: the same checks, but one look-up pair and one commit per photo."""
    from sqlalchemy import select

    from core.db import session_scope
    from core.imports.archive import open_zip
    from core.models import CandidatePhoto, Enrollment
    from core.services import photos as ph
    from core.workflow import save_blob

    ok = 0
    with open_zip(data, filename, max_bytes=ph.MAX_ZIP_MB * 1024 * 1024) as z:
        for m in z.members:
            payload = z.read(m, limit=ph.MAX_PHOTO_BYTES)
            ph.check_photo_bytes(payload)
            with session_scope(eng) as s:
                e = s.scalar(select(Enrollment).where(Enrollment.term_id == actor.term_id,
                                                      Enrollment.site_id == site, Enrollment.id_number == m.stem))
                if e is None or s.scalar(select(CandidatePhoto.id).where(
                        CandidatePhoto.term_id == actor.term_id, CandidatePhoto.site_id == site,
                        CandidatePhoto.id_number == m.stem)):
                    continue
                digest = save_blob(payload)
                s.add(CandidatePhoto(term_id=actor.term_id, site_id=site, id_number=m.stem, sha256=digest,
                                     size=len(payload), uploaded_at=datetime.now()))
                e.photo_sha256 = digest
                ok += 1
    return ok


def bench_layout(tmp: Path, n: int) -> None:
    """(4) The file store's cost is directories: save_blob's <ab>/<cd>/<sha> fan-out creates a new leaf
    directory for nearly every photo of a batch; a one-level <ab>/<sha> layout (256 directories, as git
    does) writes the same files. Same atomic write (mkstemp + replace) in both."""
    import hashlib

    from core.workflow import save_blob

    datas = [os.urandom(13_000) for _ in range(n)]
    os.environ["KAOWU_FILE_STORE"] = str(tmp / "layout2")
    t = time.perf_counter()
    for x in datas:
        save_blob(x)
    two = time.perf_counter() - t
    root = tmp / "layout1"
    t = time.perf_counter()
    for x in datas:
        digest = hashlib.sha256(x).hexdigest()
        d = root / digest[:2]
        d.mkdir(parents=True, exist_ok=True)
        fd, tmpname = tempfile.mkstemp(dir=d, prefix=".upload-")
        with os.fdopen(fd, "wb") as f:
            f.write(x)
        os.replace(tmpname, d / digest)
    one = time.perf_counter() - t
    print(f"(4) file store, {n} new 13 KB files: save_blob (<ab>/<cd>/<sha>) {two:.2f} s; "
          f"one-level <ab>/<sha> {one:.2f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--naive", type=int, default=2000, help="photos for the naive path (extrapolated to --photos)")
    ap.add_argument("--dir", default=None, help="where the database and file store go (default: the system "
                    "temp dir; /dev/shm separates CPU cost from a busy disk)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kaowu-bench-photos-", dir=args.dir))
    url = f"sqlite:///{tmp / 'kaowu.db'}"
    store = tmp / "files"
    os.environ.update(DATABASE_URL=url, KAOWU_DATA_DIR=str(tmp), KAOWU_COOKIE_KEY=COOKIE_KEY,
                      KAOWU_FILE_STORE=str(store))
    os.environ.setdefault("KAOWU_BCRYPT_ROUNDS", "4")
    sys.path.insert(0, str(ROOT))

    from core.db import make_engine, session_scope
    from core.imports.archive import open_zip
    from core.services import photos as ph
    from core.services.setup import migrate

    n = args.photos
    print(f"Kaowu photo bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU, Python "
          f"{sys.version.split()[0]}, SQLite file under {tmp}")
    eng = make_engine(url)
    migrate(eng)
    world, site, term, ids = seed(eng, n)
    actor = world.actor("site110001")

    t = time.perf_counter()
    photos = make_photos(n)
    zips = {"stored": make_zip(ids, photos, zipfile.ZIP_STORED),
            "deflated": make_zip(ids, photos, zipfile.ZIP_DEFLATED)}
    print(f"    built {n} JPEGs (avg {sum(map(len, photos)) / n / 1024:.1f} KB) and two ZIPs "
          f"(stored {len(zips['stored']) / 1e6:.0f} MB, deflated {len(zips['deflated']) / 1e6:.0f} MB) "
          f"in {time.perf_counter() - t:.1f} s")
    del photos

    # (1) the real path; time spent in the file store (save_blob) is measured by wrapping it
    store_time = [0.0]
    real_save = ph.save_blob

    def timed_save(payload: bytes) -> str:
        t0 = time.perf_counter()
        try:
            return real_save(payload)
        finally:
            store_time[0] += time.perf_counter() - t0

    ph.save_blob = timed_save
    for kind, data in zips.items():
        walls, checks, stores = [], [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            with open_zip(data, "照片.zip", max_bytes=ph.MAX_ZIP_MB * 1024 * 1024) as z:
                for m in z.members:
                    ph.check_photo_bytes(z.read(m, limit=ph.MAX_PHOTO_BYTES))
            checks.append(time.perf_counter() - t)
            reset(eng, store)
            store_time[0] = 0.0
            t = time.perf_counter()
            with session_scope(eng) as s:
                r = ph.import_photos(s, actor, site, data, "照片.zip")
            walls.append(time.perf_counter() - t)
            stores.append(store_time[0])
            assert r.ok == n and not r.errors, (r.message, r.errors[:3])
        print(f"(1) import_photos, {n} photos, {kind} ZIP: median {statistics.median(walls):.2f} s "
              f"(runs: {', '.join(f'{x:.2f}' for x in walls)}; {n / statistics.median(walls):.0f} photos/s); "
              f"of which ZIP read + content checks alone {statistics.median(checks):.2f} s, "
              f"file store writes (save_blob) {statistics.median(stores):.2f} s, the rest (DB, names) "
              f"{statistics.median(walls) - statistics.median(checks) - statistics.median(stores):.2f} s")
    ph.save_blob = real_save

    # the same ZIP again: every photo already there (nothing written)
    t = time.perf_counter()
    with session_scope(eng) as s:
        r = ph.import_photos(s, actor, site, zips["stored"], "照片.zip")
    print(f"    re-import of the same ZIP (all unchanged): {time.perf_counter() - t:.2f} s, unchanged {r.unchanged}")

    # (2) the naive path on a prefix of the ZIP
    k = min(args.naive, n)
    sub = make_zip(ids[:k], make_photos(k), zipfile.ZIP_STORED)
    reset(eng, store)
    t = time.perf_counter()
    ok = naive_import(eng, actor, site, sub, "照片.zip")
    naive = time.perf_counter() - t
    reset(eng, store)
    t = time.perf_counter()
    with session_scope(eng) as s:
        ph.import_photos(s, actor, site, sub, "照片.zip")
    real_k = time.perf_counter() - t
    print(f"(2) naive path (per-photo look-ups + commit), {k} photos: {naive:.2f} s ({ok} stored) → "
          f"~{naive * n / k:.1f} s for {n}; import_photos on the same {k}: {real_k:.2f} s; "
          f"ratio {naive / real_k:.1f}×")

    # (3) check_photos after every link was lost
    reset(eng, store)
    with session_scope(eng) as s:
        ph.import_photos(s, actor, site, zips["stored"], "照片.zip")
    from sqlalchemy import update

    from core.models import Enrollment
    with eng.begin() as conn:
        conn.execute(update(Enrollment).values(photo_sha256=None))
    t = time.perf_counter()
    with session_scope(eng) as s:
        out = ph.check_photos(s, actor, site)
    print(f"(3) check_photos, {n} enrollments, all links lost: {time.perf_counter() - t:.2f} s "
          f"(重新关联 {out['counts']['重新关联']})")
    t = time.perf_counter()
    with session_scope(eng) as s:
        ph.photo_status(s, actor, site)
    print(f"    photo_status (read-only report, all linked): {time.perf_counter() - t:.2f} s")
    bench_layout(tmp, n)
    print(f"peak RSS {_rss_mb():.0f} MB; target: {n} photos validated and stored in <= 15 s")
    eng.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
