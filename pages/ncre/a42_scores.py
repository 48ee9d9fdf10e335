"""成绩信息管理 (001 §42): the site's imported scores (paged, filtered by 准考证号/姓名/科目/等级, ID numbers
masked); upper levels pick a site of their scope in the sidebar."""
import streamlit as st

from core.services import scores
from core.ui.entity_page import entity_page
from core.ui.session import require_actor
from core.ui.widgets import org_picker

actor = require_actor()
if actor.org_kind == "site":
    site_id = actor.org_id
else:
    with st.sidebar:
        site_id = org_picker(actor, key="a42_site")
if site_id is None:
    st.title("成绩信息管理")
    st.stop()
entity_page(scores.score_list_spec(site_id), actor)
