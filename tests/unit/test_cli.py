"""`python -m core import …` and `python -m core demo`: against a temp SQLite database (DATABASE_URL) built
with migrate + build_world, as the site's administrator in the current 考次."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from core import db
from core.__main__ import main
from core.db import make_engine, session_scope
from core.models import (
    AuditLog, CandidatePhoto, Enrollment, OpWindow, Org, Registration, RegistryRecord, SiteSubject, Subject, User,
)
from core.services.setup import migrate
from tests.bench._data import group_people, group_zip, jpeg, photo_zip, registry_xlsx
from tests.factories import build_world

ROOT = Path(__file__).resolve().parents[2]
SITE = "110002"  # 集体报名, no review, no class options (demo settings)


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))
    eng = make_engine(url)
    migrate(eng)
    with session_scope(eng) as s:
        world = build_world(s)
    world.engine = eng
    world.url = url
    world.tmp = tmp_path
    db._engines[url] = eng
    yield world
    db._engines.pop(url, None)
    eng.dispose()


def open_codes(world, site_code: str) -> list[str]:
    with session_scope(world.engine) as s:
        return list(s.scalars(select(Subject.code).join(SiteSubject, SiteSubject.subject_id == Subject.id)
                              .join(Org, Org.id == SiteSubject.site_id)
                              .where(Org.code == site_code, SiteSubject.term_id == world.info["current_term"],
                                     SiteSubject.capacity > 0).order_by(Subject.code)))


def enrolled(world, site_code: str = SITE) -> list[str]:
    with session_scope(world.engine) as s:
        return list(s.scalars(select(Enrollment.id_number).join(Org, Org.id == Enrollment.site_id)
                              .where(Org.code == site_code).order_by(Enrollment.id_number)))


def write(world, name: str, data: bytes) -> str:
    path = world.tmp / name
    path.write_bytes(data)
    return str(path)


def group_file(world, n: int = 3, seed: int = 1, site_code: str = SITE, **bad) -> tuple[str, list[dict]]:
    people = group_people(n, open_codes(world, site_code)[:4], seed=seed)
    for i, (key, value) in enumerate(bad.items()):
        people[i][key] = value
    return write(world, f"group{seed}.zip", group_zip(people)), people


def read_report(path: Path) -> list[list]:
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    return [row for name in wb.sheet_names for row in wb.get_sheet_by_name(name).to_python()]


# ---------------------------------------------------------------- group registration
def test_group_registration_import_writes_and_prints_totals(cli_db, capsys):
    path, people = group_file(cli_db, 3)
    assert main(["import", "group-registration", path, "--site", SITE]) == 0
    out = capsys.readouterr().out
    assert "总行数 3，有效 3，错误 0，写入 3" in out
    assert "导入完成" in out and "site110002" in out and "新报名 3 人" in out
    assert enrolled(cli_db) == sorted(p["id_number"] for p in people)
    with session_scope(cli_db.engine) as s:
        n_regs = s.scalar(select(func.count()).select_from(Registration))
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "import").order_by(AuditLog.id.desc()))
    assert n_regs == sum(len(p["subjects"].split(";")) for p in people)
    assert audit.username == "site110002" and "group1.zip" in audit.summary
    # the same file again: refused row by row (already registered) unless --overwrite
    assert main(["import", "group-registration", path, "--site", SITE]) == 1
    err = capsys.readouterr().err
    assert "系统中已存在该考生的报名信息" in err
    assert main(["import", "group-registration", path, "--site", SITE, "--overwrite"]) == 0
    assert "覆盖 3 人" in capsys.readouterr().out


def test_group_errors_exit_1_print_the_first_errors_and_write_the_report(cli_db, capsys):
    path, people = group_file(cli_db, 4, seed=2, id_number="110101200001011234", subjects="99")
    report = cli_db.tmp / "errors.xlsx"
    assert main(["import", "group-registration", path, "--site", SITE, "--report", str(report)]) == 1
    cap = capsys.readouterr()
    assert "总行数 4，有效 2，错误 2，写入 0" in cap.out
    assert "第 2 行【证件号码】：校验位错误" in cap.err
    assert "第 3 行【报考科目】：科目代码“99”不存在" in cap.err
    assert f"错误报告已写入 {report}" in cap.err
    cells = [str(c) for row in read_report(report) for c in row]
    assert any("校验位错误" in c for c in cells) and any("科目代码“99”不存在" in c for c in cells)
    assert enrolled(cli_db) == []  # all or nothing


def test_dry_run_checks_without_writing(cli_db, capsys):
    path, _ = group_file(cli_db, 2)
    report = cli_db.tmp / "none.xlsx"
    assert main(["import", "group-registration", path, "--site", SITE, "--dry-run", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "仅校验" in out and "校验完成（未写入）" in out and "写入 0" in out
    assert enrolled(cli_db) == [] and not report.exists()


def test_a_file_that_is_not_a_zip_is_rejected(cli_db, capsys):
    path = write(cli_db, "x.zip", b"not a zip at all")
    assert main(["import", "group-registration", path, "--site", SITE]) == 1
    cap = capsys.readouterr()
    assert "总行数 0" in cap.out and cap.err.strip()


# ---------------------------------------------------------------- usage errors, administrator, windows
def test_usage_errors_exit_2(cli_db, capsys):
    path, _ = group_file(cli_db, 1)
    assert main(["import", "group-registration", path, "--site", "999999"]) == 2
    assert "考点代码“999999”不存在" in capsys.readouterr().err
    assert main(["import", "group-registration", path, "--site", "1101"]) == 2  # a city, not a site
    assert "不是考点" in capsys.readouterr().err
    assert main(["import", "group-registration", str(cli_db.tmp / "missing.zip"), "--site", SITE]) == 2
    assert "文件不存在" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["import", "marks", path, "--site", SITE])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["import", "group-registration", path])  # --site is required
    assert e.value.code == 2


def test_site_without_an_active_administrator(cli_db, capsys):
    with session_scope(cli_db.engine) as s:
        s.execute(update(User).where(User.username == "site110002").values(enabled=False))
    path, _ = group_file(cli_db, 1)
    assert main(["import", "group-registration", path, "--site", SITE]) == 2
    assert "没有启用的考点管理员账号" in capsys.readouterr().err


def test_the_operation_window_is_enforced(cli_db, capsys):
    past = datetime.now() - timedelta(days=1)
    with session_scope(cli_db.engine) as s:
        s.execute(update(OpWindow).where(OpWindow.org_id == cli_db.orgs[SITE], OpWindow.kind == "registration",
                                         OpWindow.term_id == cli_db.info["current_term"])
                  .values(start_at=past - timedelta(days=5), end_at=past))
    path, _ = group_file(cli_db, 2)
    assert main(["import", "group-registration", path, "--site", SITE]) == 1
    err = capsys.readouterr().err
    assert "未导入：不在报名管理时间" in err and "申请延长" in err
    assert enrolled(cli_db) == []


# ---------------------------------------------------------------- registry
def test_registry_import(cli_db, capsys):
    people = group_people(3, ["14"], seed=7, province="44")
    for p in people:
        p.update(enrol_year="2024", remark="")
    path = write(cli_db, "学籍.xlsx", registry_xlsx(people))
    assert main(["import", "registry", path, "--site", "440101"]) == 0
    assert "总行数 3，有效 3，错误 0，写入 3" in capsys.readouterr().out
    with session_scope(cli_db.engine) as s:
        got = dict(s.execute(select(RegistryRecord.id_number, RegistryRecord.site_id)).all())
    assert got == {p["id_number"]: cli_db.orgs["440101"] for p in people}
    assert main(["import", "registry", path, "--site", "440101"]) == 1
    assert "本考点已有学籍" in capsys.readouterr().err
    assert main(["import", "registry", path, "--site", "440101", "--overwrite"]) == 0


# ---------------------------------------------------------------- photos
def test_photo_import(cli_db, capsys):
    path, people = group_file(cli_db, 3)
    assert main(["import", "group-registration", path, "--site", SITE]) == 0
    ids = [p["id_number"] for p in people]
    good = write(cli_db, "photos.zip", photo_zip(ids[:2], extra={"110101200001010000.jpg": jpeg(9),
                                                                  "readme.txt": b"hello"}))
    report = cli_db.tmp / "photo-errors.xlsx"
    assert main(["import", "photos", good, "--site", SITE, "--report", str(report)]) == 1
    cap = capsys.readouterr()
    assert "总数 4，成功 2，失败 2" in cap.out
    assert "readme.txt：只接受 JPG 照片" in cap.err and ids[0] not in cap.err  # 证件号码 masked
    assert report.exists() and len(read_report(report)) == 3  # header + 2 errors
    with session_scope(cli_db.engine) as s:
        linked = dict(s.execute(select(Enrollment.id_number, Enrollment.photo_sha256)).all())
        directory = s.scalar(select(func.count()).select_from(CandidatePhoto))
    assert linked[ids[0]] and linked[ids[1]] and linked[ids[2]] is None and directory == 2
    # dry run: checked, nothing saved
    last = write(cli_db, "last.zip", photo_zip(ids[2:]))
    assert main(["import", "photos", last, "--site", SITE, "--dry-run"]) == 0
    assert "总数 1，成功 1，失败 0" in capsys.readouterr().out
    with session_scope(cli_db.engine) as s:
        assert s.scalar(select(func.count()).select_from(CandidatePhoto)) == 2
    assert main(["import", "photos", last, "--site", SITE]) == 0
    with session_scope(cli_db.engine) as s:
        assert s.scalar(select(func.count()).select_from(CandidatePhoto)) == 3


def test_photo_import_rejects_a_rar(cli_db, capsys):
    path = write(cli_db, "photos.rar", b"Rar!\x1a\x07\x00" + b"\x00" * 50)
    assert main(["import", "photos", path, "--site", SITE]) == 1
    assert "未导入" in capsys.readouterr().err


# ---------------------------------------------------------------- as a real process
def test_module_runs_as_a_process(cli_db):
    path, people = group_file(cli_db, 2)
    env = dict(os.environ, DATABASE_URL=cli_db.url, PYTHONPATH=str(ROOT))
    cli_db.engine.dispose()
    done = subprocess.run([sys.executable, "-m", "core", "import", "group-registration", path, "--site", SITE],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "总行数 2，有效 2，错误 0，写入 2" in done.stdout
    assert enrolled(cli_db) == sorted(p["id_number"] for p in people)
    done = subprocess.run([sys.executable, "-m", "core", "import", "registry", path, "--site", "nope"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "不存在" in done.stderr


# ---------------------------------------------------------------- demo
def test_demo_command_loads_the_candidates(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KAOWU_FILE_STORE", str(tmp_path / "files"))
    try:
        assert main(["demo", "--candidates", "60"]) == 0
        assert "演示考生已载入" in capsys.readouterr().out
        with session_scope(db.get_engine(url)) as s:
            assert s.scalar(select(func.count()).select_from(Enrollment)) == 60
        assert main(["demo", "--if-empty"]) == 0  # already there: skipped, no second load
        assert "跳过" in capsys.readouterr().out
        assert main(["demo"]) == 2
        with session_scope(db.get_engine(url)) as s:
            assert s.scalar(select(func.count()).select_from(Enrollment)) == 60
    finally:
        db._engines.pop(url, None)


# ---------------------------------------------------------------- arrange, ticket-numbers, tickets (001 §31–34)
def _paid_site_with_rooms(world, n: int = 20, rooms: int = 1) -> None:
    from datetime import time as dtime

    from core.models import ExamRoom, ExamSession, ExamTerm
    from tests.factories import add_candidates

    sid, tid = world.orgs[SITE], world.info["current_term"]
    codes = open_codes(world, SITE)[:2]
    with session_scope(world.engine) as s:
        add_candidates(s, sid, tid, n, codes, paid=True, start=700)
        day = s.get(ExamTerm, tid).exam_start.date()
        for r in range(rooms):
            room = ExamRoom(term_id=tid, site_id=sid, code=f"{r + 1:02d}", address="机房")
            s.add(room)
            s.flush()
            for k, (a, b) in enumerate(((dtime(8, 30), dtime(10, 30)), (dtime(11, 0), dtime(13, 0)))):
                s.add(ExamSession(term_id=tid, site_id=sid, room_id=room.id, seq=k + 1, capacity=30,
                                  start_at=datetime.combine(day, a), end_at=datetime.combine(day, b)))


def test_arrange_numbers_and_tickets_from_the_command_line(cli_db, capsys):
    assert main(["ticket-numbers", "--site", SITE]) == 1  # nothing arranged yet
    assert "未生成" in capsys.readouterr().err
    _paid_site_with_rooms(cli_db)
    assert main(["arrange", "--site", SITE]) == 0
    assert "全部编排完成" in capsys.readouterr().out
    assert main(["ticket-numbers", "--site", SITE]) == 0
    assert "新生成 40" in capsys.readouterr().out
    out = cli_db.tmp / "小版准考证.zip"
    assert main(["tickets", "--site", SITE, "--layout", "small", "--out", str(out), "--order", "ticket"]) == 0
    assert "40 张" in capsys.readouterr().out
    from core.services.ticket_files import zip_pdf_members

    members = zip_pdf_members(out.read_bytes())
    assert members and all(name.endswith(".pdf") for name, _ in members)
    with session_scope(cli_db.engine) as s:
        numbers = s.scalars(select(Registration.ticket_no).join(Org, Org.id == Registration.site_id)
                            .where(Org.code == SITE)).all()
        actions = {a for a, in s.execute(select(AuditLog.action).where(AuditLog.entity == "generated_file"))}
    assert len(numbers) == 40 and all(n and len(n) == 16 for n in numbers)
    assert {"generate", "export"} <= actions
    import shutil
    if shutil.which("pdftotext"):
        text = "".join(subprocess.run(["pdftotext", "-", "-"], input=b, capture_output=True).stdout.decode()
                       for _n, b in members)
        assert all(n in text for n in numbers)


def test_arrange_reports_what_could_not_be_placed(cli_db, capsys):
    _paid_site_with_rooms(cli_db, n=40, rooms=1)  # 80 报考 for 60 seats
    assert main(["arrange", "--site", SITE]) == 1
    captured = capsys.readouterr()
    assert "未能编排 20 科次" in captured.out and "容量" in captured.err
    assert main(["arrange", "--site", "999999"]) == 2
