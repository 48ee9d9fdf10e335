"""证书领取确认单下载 (001 §52): after the scores are imported, generate the ZIP of 证书领取确认单 (one PDF per
考场 with the passed candidates, plus the site summary) and download it inside the 考后资料下载时间 (§9,
enforced by the generate-then-download framework)."""
import streamlit as st

from core.services import cert_receipts as cr
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head
from core.ui.widgets import query

actor, site_id, flags = registration_head("证书领取确认单下载")
with st.expander("说明", expanded=False, icon=":material/info:"):
    st.markdown(
        "1. 考点用户可以在本页面查看、生成、下载本考点的证书领取确认单，用于向考生发放合格证书时签字留存。\n"
        "2. 需要先在《成绩管理》→《成绩信息导入》中导入本考点的成绩；成绩合格（≥ 60 分且没有违规标记）的科次"
        "才列入确认单。\n"
        "3. 证书领取确认单需要先生成后下载，页面显示文件的生成时间和文件大小；成绩数据变动后请重新生成。"
        "下载受《考点操作时间设置》中“考后资料下载时间”控制。\n"
        "4. 下载到的文件为 .ZIP 压缩包，解压为 PDF 文件：每个考场一份确认单（序号、准考证号、姓名、证件号码、科目、"
        "成绩等级、证书编号、领取人签名、领取日期，按准考证号排序，每页有经办人、考点负责人签名和考点盖章栏），"
        "以及一份本考点的证书领取汇总表（各考场、各科目按成绩等级的证书数）。")
ready = query(cr.readiness, actor, site_id)
if ready is None:
    st.stop()
st.caption(f"{flags['label']}：{ready.text}")
generated_panel(actor, site_id, cr.KIND, cr.build_cert_receipts, disabled_reason=ready.reason)
