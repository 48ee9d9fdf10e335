"""通用统计 page (001 §53): presets, choosing columns, the pivot rule message, table + chart, scope."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.db import session_scope
from core.models import Registration, Score
from tests.factories import add_candidates

PAGE = "pages/ncre/a53_query_builder.py"


def _data(world):
    """40 报考 at 110001 (Beijing) and 25 at 440101 (Guangzhou), with scores at 110001."""
    tid = world.info["current_term"]
    with session_scope(world.engine) as s:
        if s.scalar(select(Registration.id).where(Registration.site_id == world.orgs["110001"]).limit(1)):
            return
        add_candidates(s, world.orgs["110001"], tid, 20, ("14", "24"), paid=True, start=700)
        add_candidates(s, world.orgs["440101"], tid, 25, ("14",), start=800, born="19990101")
        for i, r in enumerate(s.scalars(select(Registration).where(Registration.site_id == world.orgs["110001"]))):
            s.add(Score(term_id=tid, site_id=r.site_id, registration_id=r.id, subject_id=r.subject_id,
                        ticket_no=f"T{r.id}", score=i * 3 % 101, flag="", imported_at=datetime.now()))


def test_preset_shows_table_and_chart_for_center(page, app_db):
    _data(app_db)
    at = page(PAGE, "center").run()
    assert not at.exception
    at.button(key="qb_preset_常用报考统计").click().run()
    assert not at.exception, [e.value for e in at.exception]
    df = at.dataframe[0].value
    assert "考点" in df.columns and "(14) 一级计算机基础及MS Office应用" in df.columns
    assert df.iloc[-1]["考点"] == "合计"
    assert int(df.iloc[-1]["(14) 一级计算机基础及MS Office应用"]) >= 45
    assert at.get("plotly_chart"), "a chart is drawn"


def test_choose_columns_indicator_number_and_pivot(page, app_db):
    _data(app_db)
    at = page(PAGE, "site110001").run()
    at.multiselect(key="qb_dims").set_value(["subject", "score_band"]).run()
    at.multiselect(key="qb_inds").set_value(["reg_count", "score_ge"]).run()
    at.number_input(key="qb_score_ge_x").set_value(50).run()
    at.multiselect(key="qb_pivot").set_value(["score_band"]).run()
    at.button(key="qb_query").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    df = at.dataframe[0].value
    assert list(df.columns)[0] == "科目"
    assert any("成绩≥50人次" in c for c in df.columns)
    assert set(df["科目"]) == {"(14) 一级计算机基础及MS Office应用", "(24) 二级C语言程序设计", "合计"}
    # the site admin's scope: only its own 40 报考
    total = df[df["科目"] == "合计"]
    assert int(sum(total[c].iloc[0] for c in df.columns if c.endswith("报考人次"))) == 40


def test_pivot_rule_is_explained(page, app_db):
    at = page(PAGE, "center").run()
    at.multiselect(key="qb_dims").set_value(["site", "subject", "gender"]).run()
    at.multiselect(key="qb_inds").set_value(["reg_count", "candidates"]).run()
    at.multiselect(key="qb_pivot").set_value(["subject", "gender"]).run()
    at.button(key="qb_query").click().run()
    assert any("只能选 1 个" in e.value for e in at.error)


def test_filter_limits_the_rows(page, app_db):
    _data(app_db)
    at = page(PAGE, "prov44").run()
    at.multiselect(key="qb_dims").set_value(["site"]).run()
    at.multiselect(key="qb_filter_dims").set_value(["subject"]).run()
    opts = at.multiselect(key="qb_filter_subject").options
    assert "(14) 一级计算机基础及MS Office应用" in opts
    at.multiselect(key="qb_filter_subject").set_value(["(14) 一级计算机基础及MS Office应用"]).run()
    at.button(key="qb_query").click().run()
    df = at.dataframe[0].value
    assert not any(str(v).startswith("(11") for v in df["考点"])  # a province admin of 广东 sees no 北京 site
    assert int(df.iloc[-1]["报考人次"]) == 25
