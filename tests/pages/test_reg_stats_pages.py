"""AppTest: 取消考试信息查看 (001 §27), 报考/支付/考生统计 (§28), 科目容量统计 (§29) for every level: the
numbers each level sees, 刷新, the audited Excel export, the capacity colours and a past 考次."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.models import AuditLog, CancelledRegistration, Candidate, Subject
from core.ui.session import TERM
from tests.factories import add_candidates

REG = "pages/ncre/a28_reg_stats.py"
PAY = "pages/ncre/a28_pay_stats.py"
CAND = "pages/ncre/a28_candidate_stats.py"
CAP = "pages/ncre/a29_capacity_stats.py"
CANCEL = "pages/ncre/a27_cancelled.py"
STATS = [REG, PAY, CAND, CAP]
TITLES = {REG: "报考统计", PAY: "支付统计", CAND: "考生统计", CAP: "科目容量统计", CANCEL: "取消考试信息查看"}
NOW = datetime.now().replace(microsecond=0)


@pytest.fixture(scope="module", autouse=True)
def data(app_db):
    """110001: 3 group paid (14, 24) + 1 individual unpaid (14); 110002: 2 (24); 440101: 4 (14);
    past term: 5 at 110001. Two cancelled 报考 at 110001, one at 440101."""
    cur, past = app_db.info["current_term"], app_db.info["past_term"]
    o = app_db.orgs
    with session_scope(app_db.engine) as s:
        add_candidates(s, o["110001"], cur, 3, ("14", "24"), start=0, paid=True, photo="b" * 64)
        add_candidates(s, o["110001"], cur, 1, ("14",), start=3, channel="individual", review_state="pending")
        add_candidates(s, o["110002"], cur, 2, ("24",), start=10)
        add_candidates(s, o["440101"], cur, 4, ("14",), start=20)
        add_candidates(s, o["110001"], past, 5, ("14",), start=100)
        cands = s.scalars(select(Candidate).order_by(Candidate.id)).all()
        s14 = s.scalar(select(Subject.id).where(Subject.code == "14"))
        for site, c, name, idn, reason in (
                ("110001", cands[0], "赵六", "110101200001019999", "考点报错，考生要求取消"),
                ("110001", cands[1], "=HYPERLINK(\"http://x\",\"y\")", "110101200001018888", "科目报错"),
                ("440101", cands[2], "钱七", "440101200001017777", "其他原因")):
            s.add(CancelledRegistration(term_id=cur, site_id=o[site], candidate_id=c.id, subject_id=s14,
                                        id_type="居民身份证", id_number=idn, name=name, channel="individual", fee=80,
                                        paid=True, paid_at=NOW - timedelta(days=2), registered_at=NOW - timedelta(days=3),
                                        reason=reason, cancelled_by="考点管理员1（北京理工大学考点）", cancelled_at=NOW))
    return app_db


def _df(at, i=0):
    return at.dataframe[i].value


def _sites(at):
    return list(_df(at)["考点"])


# ---------------------------------------------------------------- every level renders
@pytest.mark.parametrize("user", ["site110001", "city1101", "prov11", "center"])
def test_pages_render_for_each_level(page, user):
    for f in STATS + [CANCEL]:
        at = page(f, user).run()
        assert not at.exception, (f, user, at.exception)
        assert not at.error, (f, user, [e.value for e in at.error])
        assert at.title[0].value == TITLES[f]
        labels = [b.label for b in at.button]
        assert "导出 Excel" in labels or "导出 Excel（按考点）" in labels, (f, labels)
        if f == CANCEL:
            continue
        assert "刷新" in labels
        sites = _sites(at)
        assert sites[-1] == "合计"
        if user == "site110001":
            assert sites == ["(110001)北京理工大学考点", "合计"]
        elif user in ("city1101", "prov11"):
            assert [x[1:7] for x in sites[:-1]] == ["110001", "110002", "110003", "110004"]
        else:
            assert len(sites) == 12 and any(x.startswith("(440101)") for x in sites)
        assert at.get("plotly_chart"), (f, user)


# ---------------------------------------------------------------- numbers
def test_reg_stats_numbers_visible(page):
    at = page(REG, "site110001").run()
    row = _df(at).iloc[0]
    assert row["报名人数"] == 4 and row["报考人次合计"] == 7
    assert row["(14) 一级计算机基础及MS Office应用"] == 4 and row["(24) 二级C语言程序设计"] == 3
    assert {m.label: m.value for m in at.metric}["报名人数"] == "4"
    prov = page(REG, "prov11").run()
    total = _df(prov).iloc[-1]
    assert total["考点"] == "合计" and total["报名人数"] == 6 and total["报考人次合计"] == 9


def test_pay_and_candidate_numbers_visible(page):
    at = page(PAY, "site110001").run()
    row = _df(at).iloc[0]
    assert (row["报考科次"], row["已支付科次"], row["未支付科次"]) == (7, 6, 1)
    assert row["已支付金额（元）"] == 480.0 and row["未支付金额（元）"] == 80.0
    assert len(at.dataframe) == 2  # by site and by subject
    by_subject = _df(at, 1)
    assert list(by_subject["科目"])[-1] == "合计" and by_subject.iloc[-1]["报考科次"] == 7
    at = page(CAND, "site110001").run()
    row = _df(at).iloc[0]
    assert (row["报名人数"], row["集体报名"], row["考生注册"], row["有照片"], row["待审核"]) == (4, 3, 1, 3, 1)
    assert (row["全部支付"], row["全未支付"]) == (3, 1)


def test_capacity_page_colours_and_legend(page):
    at = page(CAP, "site110001").run()
    df = _df(at)
    row = df.iloc[0]
    assert row["(SS) 总科次数 总容量"] == "2100" and row["(SS) 总科次数 剩余容量"] == str(2100 - 7)
    assert row["(14) 一级计算机基础及MS Office应用 剩余容量"] == "296"  # 300 − 4
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    assert "background-color" in styles and "#c8e6c9" in styles  # 充足 is green
    legend = " ".join(m.value for m in at.markdown)
    assert "剩余容量颜色" in legend and "已满" in legend and "不限" in legend


# ---------------------------------------------------------------- 刷新 and export
def test_refresh_shows_new_registrations(page, app_db):
    at = page(REG, "site110004").run()
    before = _df(at).iloc[0]["报名人数"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, app_db.orgs["110004"], app_db.info["current_term"], 2, ("14",), start=40)
    at.button(key="stats_refresh").click().run()
    assert not at.exception
    assert _df(at).iloc[0]["报名人数"] == before + 2


@pytest.mark.parametrize("f", STATS)
def test_export_offers_a_download_and_is_audited(page, app_db, f):
    at = page(f, "city1101").run()
    assert not at.get("download_button")
    kind = {"a28_reg_stats": "reg", "a28_pay_stats": "pay", "a28_candidate_stats": "candidate",
            "a29_capacity_stats": "capacity"}[f.split("/")[-1][:-3]]
    key = f"stats_export_{kind}"
    at.button(key=key).click().run()
    assert not at.exception and not at.error
    assert [d.label for d in at.get("download_button")] == ["下载 Excel"]
    with session_scope(app_db.engine) as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "export", AuditLog.username == "city1101")
                        .order_by(AuditLog.id.desc())).first()
    assert log.entity == TITLES[f] and log.org_id == app_db.orgs["1101"]
    at.button(key="stats_refresh").click().run()
    assert not at.get("download_button")  # 刷新 drops the file of the old numbers


def test_past_term_is_shown_read_only(page, app_db):
    at = page(REG, "site110001")
    at.session_state[TERM] = app_db.info["past_term"]
    at.run()
    assert not at.exception and not at.error
    row = _df(at).iloc[0]
    assert row["报名人数"] == 5 and row["报考人次合计"] == 5
    assert any("2026年3月" in c.value for c in at.caption)


# ---------------------------------------------------------------- 取消考试信息查看
def test_cancelled_list_masked_and_scoped(page):
    at = page(CANCEL, "site110001").run()
    df = _df(at)
    assert len(df) == 2
    assert set(df["证件号码"]) == {"110***********9999", "110***********8888"}
    assert "110101200001019999" not in df.to_string()
    assert "考点报错，考生要求取消" in set(df["取消原因"])
    assert set(df["取消人"]) == {"考点管理员1（北京理工大学考点）"}
    assert len(_df(page(CANCEL, "prov11").run())) == 2
    assert len(_df(page(CANCEL, "center").run())) == 3


def test_cancelled_filter_and_export(page, app_db):
    at = page(CANCEL, "site110001").run()
    at.text_input(key="kaowu_cancelled_registration__f_id_number").set_value("110101200001019999")
    next(b for b in at.button if b.label == "查询").click().run()
    assert list(_df(at)["姓名"]) == ["赵六"]
    at.button(key="kaowu_cancelled_registration__btn_xlsx").click().run()
    assert not at.exception
    assert [d.label for d in at.get("download_button")] == ["下载 Excel"]
    with session_scope(app_db.engine) as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "export", AuditLog.username == "site110001")
                        .order_by(AuditLog.id.desc())).first()
    assert log.entity == "取消考试信息查看" and "1 条" in log.summary
