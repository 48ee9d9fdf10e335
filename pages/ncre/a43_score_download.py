"""成绩信息下载 (001 §43): generate the site's score file (DBF or CSV), then download it inside the
考后资料下载时间; only a site with imported scores can generate."""
import pandas as pd
import streamlit as st

from core.services import scores
from core.ui.generated import generated_panel
from core.ui.session import require_actor
from core.ui.widgets import org_picker, query

actor = require_actor()
st.title("成绩信息下载")
site_id = org_picker(actor)
if site_id is None:
    st.stop()
info = query(scores.site_scores_info, actor, site_id)
if info is None:
    st.stop()
st.caption(f"{info['label']}：本考次已导入成绩 {info['count']} 条。")
with st.expander("说明", expanded=False, icon=":material/info:"):
    st.markdown(
        "1. 考点用户可以在本页面查看、生成、下载本考点成绩信息。\n"
        "2. 只有导入了成绩信息的考点才可以生成和下载。\n"
        "3. 页面显示了文件的生成时间和文件大小，如果无法确定生成时间到当前时间是否有数据变动，下载前请先重新生成。\n"
        "4. 下载方式有 2 种：dbf 格式（.ZIP 压缩包，内含以考点代码命名的 .DBF 文件，dBase III 格式、GBK 编码）"
        "和 csv 格式（GBK 编码，可直接用 Excel 打开）。每条成绩一条记录，按准考证号排序。")
    st.dataframe(pd.DataFrame([{"DBF 字段": f.name, "含义（CSV 列名）": scores.SCORE_LABELS[f.name], "类型": f.type,
                                "长度": f.length} for f in scores.SCORE_DBF_FIELDS]), hide_index=True)
blocker = None if info["count"] else scores.NO_SCORES
dbf_tab, csv_tab = st.tabs(["dbf 格式", "csv 格式"])
with dbf_tab:
    generated_panel(actor, site_id, "scores_dbf", scores.build_scores_dbf, disabled_reason=blocker)
with csv_tab:
    generated_panel(actor, site_id, "scores_csv", scores.build_scores_csv, disabled_reason=blocker)
