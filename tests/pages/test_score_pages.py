"""AppTest: 成绩管理 (001 §40–44) pages render for a site and the levels above; import a score CSV through the page
(identity mismatch → prompt → untick → re-import → success), list, generate the downloads, see the statistics."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from core.auth import actor_for
from core.db import session_scope
from core.imports import specs_scores as sp
from core.models import Enrollment, GeneratedFile, Registration, User
from core.models.postexam import Score
from tests.factories import add_candidates, seat_all

A40 = "pages/ncre/a40_score_import.py"
A41 = "pages/ncre/a41_cert_mailing.py"
A42 = "pages/ncre/a42_scores.py"
A43 = "pages/ncre/a43_score_download.py"
A44 = "pages/ncre/a44_score_stats.py"
TITLES = {A40: "成绩信息导入", A41: "证书直邮信息导入", A42: "成绩信息管理", A43: "成绩信息下载", A44: "成绩统计"}
HEADER = ["准考证号", "姓名", "证件号码", "科目代码", "成绩", "违规标记", "证书编号"]


def texts(elements):
    return [e.value for e in elements]


def numbered(world, code: str, start: int) -> list[tuple]:
    tid, sid = world.info["current_term"], world.orgs[code]
    with session_scope(world.engine) as s:
        add_candidates(s, sid, tid, 3, ("14", "15"), paid=True, start=start, born="19980101")
        seat_all(s, sid, tid)
        return s.execute(select(Registration.ticket_no, Enrollment.name, Enrollment.id_number, Registration.id)
                         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
                         .where(Registration.site_id == sid, Registration.term_id == tid)
                         .order_by(Registration.ticket_no)).all()


def score_csv(regs, scores_, names=None) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    for i, (r, sc) in enumerate(zip(regs, scores_)):
        name = (names or {}).get(i, r[1])
        w.writerow([r[0], name, r[2], "14" if r[0].startswith("14") else "15", sc, "", ""])
    return buf.getvalue().encode("gbk")


@pytest.fixture(scope="module")
def imported(app_db):
    """Site 110003: 6 报考 with scores 95, 85, 70, 40, 91, 62 (imported through the service)."""
    regs = numbered(app_db, "110003", 800)
    with session_scope(app_db.engine) as s:
        actor = actor_for(s, s.scalar(select(User).where(User.username == "site110003")))
    res = sp.import_score_file(app_db.engine, actor, score_csv(regs, [95, 85, 70, 40, 91, 62]), "成绩.csv",
                               dry_run=False)
    assert res.committed, res.errors
    return regs


@pytest.mark.parametrize("user", ["center", "prov11", "city1101", "site110001"])
@pytest.mark.parametrize("file", [A40, A41, A42, A43, A44])
def test_pages_render_for_each_level(page, file, user):
    at = page(file, user).run()
    assert not at.exception, (file, user, at.exception)
    assert at.title[0].value == TITLES[file]
    assert not at.error, (file, user, texts(at.error))


def test_score_import_identity_prompt_then_reimport(page, app_db):
    regs = numbered(app_db, "110004", 850)
    data = score_csv(regs, [88, 77, 66, 55, 99, 60],
                     names={i: "改名甲" for i, r in enumerate(regs) if r[2] == regs[0][2]})  # both subjects
    at = page(A40, "site110004").run()
    assert at.checkbox(key="imp_ncre_scores_check_identity").value is True
    at.file_uploader[0].upload("成绩.csv", data, "text/csv").run()
    next(b for b in at.button if b.label == "校验").click().run()
    assert not at.exception, at.exception
    prompt = [w.value for w in at.warning if "姓名/证件号不一致" in w.value]
    assert prompt == ["检测到 2 条姓名/证件号不一致；确认以成绩文件为准后，取消勾选“校验姓名和证件号”再次导入。"], \
        texts(at.warning)
    assert not [b for b in at.button if b.label.startswith("确认导入")]
    at.checkbox(key="imp_ncre_scores_check_identity").uncheck().run()
    next(b for b in at.button if b.label == "校验").click().run()
    assert any("校验完成" in s.value for s in at.success), texts(at.success)
    assert not [w for w in at.warning if "姓名/证件号不一致" in w.value]
    next(b for b in at.button if b.label == "确认导入").click().run()
    assert not at.exception, at.exception
    assert any("导入完成" in s.value and "写入 6 条" in s.value for s in at.success), texts(at.success)
    assert any("更新了 1 名考生的姓名/证件号码" in i.value for i in at.info), texts(at.info)
    with session_scope(app_db.engine) as s:
        assert s.scalar(select(Enrollment.name).where(Enrollment.id_number == regs[0][2])) == "改名甲"
        got = dict(s.execute(select(Score.ticket_no, Score.score)
                             .where(Score.ticket_no.in_([r[0] for r in regs]))).all())
    assert got == {r[0]: sc for r, sc in zip(regs, [88, 77, 66, 55, 99, 60])}


def test_upper_level_cannot_import(page, imported):
    at = page(A40, "city1101").run()
    assert any("由考点管理员在本考点导入" in i.value for i in at.info)
    assert at.file_uploader[0].disabled


def test_score_list(page, app_db, imported):
    at = page(A42, "site110003").run()
    assert not at.exception
    assert any("共 **6** 条" in m.value for m in at.markdown), texts(at.markdown)
    df = at.dataframe[0].value
    assert sorted(df["成绩"].astype(int)) == [40, 62, 70, 85, 91, 95]
    assert all("*" in v for v in df["证件号码"])
    at = page(A42, "city1101").run()
    assert [s.key for s in at.sidebar.selectbox] == ["a42_site"]
    at.selectbox(key="a42_site").set_value(app_db.orgs["110003"]).run()
    assert not at.exception
    assert any("共 **6** 条" in m.value for m in at.markdown), texts(at.markdown)


def test_generate_downloads(page, app_db, imported):
    at = page(A43, "site110003").run()
    assert not at.button(key="gen_scores_dbf_build").disabled
    at.button(key="gen_scores_dbf_build").click().run()
    assert not at.exception, at.exception
    assert any("成绩信息（DBF）已生成" in s.value for s in at.success), texts(at.success)
    at.button(key="gen_scores_csv_build").click().run()
    assert any("成绩信息（CSV）已生成" in s.value for s in at.success), texts(at.success)
    with session_scope(app_db.engine) as s:
        rows = dict(s.execute(select(GeneratedFile.kind, GeneratedFile.rows)
                              .where(GeneratedFile.site_id == app_db.orgs["110003"])).all())
    assert rows == {"scores_dbf": 6, "scores_csv": 6}
    labels = [d.label for d in at.get("download_button")]
    assert "下载成绩信息（DBF）" in labels and "下载成绩信息（CSV）" in labels
    # a site without scores: the reason instead of a working button
    at = page(A43, "site110001").run()
    assert at.button(key="gen_scores_dbf_build").disabled
    assert any("尚未导入成绩信息" in i.value for i in at.info)


def test_score_stats_table(page, imported):
    at = page(A44, "site110003").run()
    assert not at.exception
    df = at.dataframe[0].value
    row = df[df["考点"].str.contains("110003")].iloc[0]
    assert (row["人次"], row["优秀"], row["良好"], row["及格"], row["不及格"], row["缺考"]) == (6, 2, 1, 2, 1, 0)
    assert df.iloc[-1]["考点"] == "合计" and df.iloc[-1]["人次"] == 6
    at.radio(key="a44_by").set_value("subject").run()
    df = at.dataframe[0].value
    assert list(df["科目"])[-1] == "合计" and df.iloc[-1]["人次"] == 6 and len(df) == 3
    next(b for b in at.button if b.label == "导出 Excel").click().run()
    assert [d.label for d in at.get("download_button")] == ["下载 Excel"]
    at = page(A44, "city4401").run()
    df = at.dataframe[0].value
    assert not df["考点"].str.contains("110003").any()
