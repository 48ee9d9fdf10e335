"""考场签到表下载 (001 §50): generate the ZIP of PDFs (one sign-in sheet per room session: seat, photo,
name, ID, ticket number, subject, signature), download it inside the 考前资料下载时间 (enforced by the
generate-then-download framework)."""
import streamlit as st

from core.services import ticket_files as tf
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head

actor, site_id, flags = registration_head("考场签到表下载")
st.caption("考场签到表需要在编排完成、报名数据和编排数据不再变化时生成；先生成后下载，如果无法确定生成之后数据是否有变动，"
           "下载前请先重新生成。"
           "文件为 ZIP 压缩包，解压为 PDF 文件：每个考场批次一份签到表（座位号、照片、姓名、证件号码、准考证号、科目、签名）。")
generated_panel(actor, site_id, "signin", tf.build_signin)
