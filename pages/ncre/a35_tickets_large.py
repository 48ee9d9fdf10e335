"""考点大版准考证下载 (001 §35): choose the order, generate the ZIP of PDFs (one ticket per A4 with 考生须知),
download it."""
import streamlit as st

from core.services import ticket_files as tf
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head

actor, site_id, flags = registration_head("考点大版准考证下载")
st.caption("考点大版准考证生成下载不受考点操作时间限制，但需要在编排完成、生成准考证号后才可以生成。"
           "文件为 ZIP 压缩包，解压为 PDF 文件，一张 A4 纸有 1 张准考证，比小版多了《考生须知》（不可修改）。")
order = st.radio("生成顺序", list(tf.ORDERS), format_func=tf.ORDERS.get, horizontal=True, key="tk_large_order")
generated_panel(actor, site_id, "tickets_large", tf.build_tickets_large, tf.order_options(order))
