"""`python -m core import violations|scores|cert-mailing`, `export scores` and `stats` against a temp SQLite
database (the `cli_db` fixture of test_cli): the same services as the pages, as the site's administrator."""
from __future__ import annotations

import io
import json

import openpyxl
from sqlalchemy import func, select

from core.__main__ import main
from core.db import session_scope
from core.models import Registration
from tests.factories import add_candidates
from tests.unit.test_cli import cli_db  # noqa: F401  (fixture)


def _registrations(world, site="110001", n=12, codes=("14", "24"), start=300):
    with session_scope(world.engine) as s:
        add_candidates(s, world.orgs[site], world.info["current_term"], n, codes, paid=True, start=start)


def test_stats_from_a_json_spec(cli_db, capsys, tmp_path):
    _registrations(cli_db)
    _registrations(cli_db, "440101", 5, ("14",), start=400)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"dims": ["site", "subject"], "indicators": ["reg_count"], "pivot": ["subject"]}),
                    encoding="utf-8")
    out = tmp_path / "stats.xlsx"
    assert main(["stats", "--spec", str(spec), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "数据列：考点、科目" in printed and str(out) in printed
    ws = openpyxl.load_workbook(io.BytesIO(out.read_bytes())).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "考点"
    total = [r for r in rows if r[0] == "合计"][0]
    with session_scope(cli_db.engine) as s:
        n = s.scalar(select(func.count()).select_from(Registration))
    assert sum(v for v in total[1:] if isinstance(v, int)) == n == 29
    # within a user's scope: the 广东 province admin sees only its 5
    assert main(["stats", "--spec", str(spec), "--out", str(out), "--user", "prov44"]) == 0
    rows = list(openpyxl.load_workbook(io.BytesIO(out.read_bytes())).active.iter_rows(values_only=True))
    assert all(not str(r[0]).startswith("(11") for r in rows[1:])
    assert [r for r in rows if r[0] == "合计"][0][1] == 5


def test_stats_preset_and_errors(cli_db, capsys, tmp_path):
    spec = tmp_path / "p.json"
    out = tmp_path / "o.xlsx"
    spec.write_text('{"preset": "常用编排统计"}', encoding="utf-8")
    assert main(["stats", "--spec", str(spec), "--out", str(out)]) == 0
    assert out.exists()
    spec.write_text('{"dims": ["site"], "indicators": [{"key": "score_range", "x": 90, "y": 60}]}', encoding="utf-8")
    assert main(["stats", "--spec", str(spec), "--out", str(out)]) == 2
    assert "x 必须小于 y" in capsys.readouterr().err
    spec.write_text('{"dims": ["site"', encoding="utf-8")
    assert main(["stats", "--spec", str(spec), "--out", str(out)]) == 2
    assert "不是有效的 JSON" in capsys.readouterr().err
    spec.write_text('{"dims": ["site"], "sql": "DROP TABLE org"}', encoding="utf-8")
    assert main(["stats", "--spec", str(spec), "--out", str(out)]) == 2
    assert "未知项：sql" in capsys.readouterr().err
    spec.write_text('{"preset": "常用报考统计"}', encoding="utf-8")
    assert main(["stats", "--spec", str(spec), "--out", str(out), "--user", "nobody"]) == 2
    assert "不存在" in capsys.readouterr().err


def test_violations_scores_mailing_import_and_score_export(cli_db, capsys, tmp_path):
    import csv
    import zipfile

    import dbfread

    from core.models import Enrollment, Score, Violation
    from core.services.scores import SCORE_FILE_HEADER, demo_score_rows
    from tests.bench._data import xlsx_bytes
    from tests.factories import seat_all

    site = "110003"
    tid = cli_db.info["current_term"]
    _registrations(cli_db, site, 8, ("14", "24"), start=500)
    with session_scope(cli_db.engine) as s:
        seat_all(s, cli_db.orgs[site], tid)
        tickets = sorted(s.scalars(select(Registration.ticket_no).where(Registration.site_id == cli_db.orgs[site])))
    # 违规 (Excel): two rows, one a finer code
    vfile = tmp_path / "违纪.xlsx"
    vfile.write_bytes(xlsx_bytes("违纪缺考信息", ["准考证号", "违纪类型", "备注"],
                                 [[tickets[0], "缺考", ""], [tickets[1], "作弊-夹带", "监考记录"]]))
    assert main(["import", "violations", str(vfile), "--site", site]) == 0
    with session_scope(cli_db.engine) as s:
        assert sorted(s.scalars(select(Violation.code))) == ["01", "22"]
        rows = demo_score_rows(s, tid, cli_db.orgs[site])
    # 成绩 (CSV, GBK): a changed name is refused with the identity check, then taken without it
    renamed = "改名" + rows[3][1]
    for r in rows:  # every subject of that candidate carries the new name
        if r[2] == rows[3][2]:
            r[1] = renamed

    def write(path, data):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(SCORE_FILE_HEADER)
        w.writerows(data)
        path.write_bytes(buf.getvalue().encode("gbk"))

    sfile = tmp_path / "成绩.csv"
    write(sfile, rows)
    capsys.readouterr()
    assert main(["import", "scores", str(sfile), "--site", site]) == 1
    err = capsys.readouterr().err
    assert "第 5 行" in err and "姓名" in err and "不一致" in err
    assert main(["import", "scores", str(sfile), "--site", site, "--no-check-identity"]) == 0
    with session_scope(cli_db.engine) as s:
        assert s.scalar(select(func.count()).select_from(Score)) == len(rows) == 16
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.name == renamed)) == 1
    # 证书直邮 (CSV, UTF-8 with BOM)
    passed = [r for r in rows if r[6]]
    mfile = tmp_path / "直邮.csv"
    mfile.write_bytes(("\ufeff准考证号,姓名,收件人,联系电话,邮寄地址,邮政编码\r\n" + "".join(
        f"{r[0]},{r[1]},{r[1]},13800138000,北京市海淀区中关村南大街5号,100081\r\n" for r in passed[:3])).encode("utf-8"))
    assert main(["import", "cert-mailing", str(mfile), "--site", site]) == 0
    # 成绩信息下载: DBF (ZIP with <site>.DBF, GBK) and CSV
    out = tmp_path / "scores.zip"
    assert main(["export", "scores", "--format", "dbf", "--site", site, "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        name = [n for n in z.namelist() if n.upper().endswith(".DBF")][0]
        (tmp_path / "s.dbf").write_bytes(z.read(name))
    records = list(dbfread.DBF(str(tmp_path / "s.dbf"), encoding="gbk"))
    assert len(records) == 16
    assert any(renamed in str(v) for r in records for v in r.values())
    out_csv = tmp_path / "scores.csv"
    assert main(["export", "scores", "--format", "csv", "--site", site, "--out", str(out_csv)]) == 0
    text = out_csv.read_bytes().decode("gbk")
    assert all(t in text for t in tickets)
    assert main(["export", "scores", "--format", "csv", "--site", "999999", "--out", str(out_csv)]) == 2
