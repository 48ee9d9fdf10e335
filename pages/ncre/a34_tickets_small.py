"""考点小版准考证下载 (001 §34): choose the order, generate the ZIP of PDFs (6 tickets per A4), download it;
and 准考证验证 (ticket number + verification code, or the QR text) to check a ticket in hand."""
import streamlit as st

from core.services import ticket_files as tf
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head
from core.ui.widgets import query

actor, site_id, flags = registration_head("考点小版准考证下载")
st.caption("考点小版准考证生成下载不受考点操作时间限制，但需要在编排完成、生成准考证号后才可以生成。"
           "文件为 ZIP 压缩包，解压为 PDF 文件，一张 A4 纸有 6 张准考证。")
order = st.radio("生成顺序", list(tf.ORDERS), format_func=tf.ORDERS.get, horizontal=True, key="tk_small_order")
generated_panel(actor, site_id, "tickets_small", tf.build_tickets_small, tf.order_options(order))

# ---------------------------------------------------------------- 准考证验证
st.subheader("准考证验证")
st.caption("输入准考证号和校验码，或粘贴准考证二维码的内容，核对准考证是否由本系统生成、信息是否一致。")
with st.form("ticket_check"):
    c1, c2 = st.columns(2)
    ticket_no = c1.text_input("准考证号", key="chk_ticket_no")
    code = c2.text_input("校验码", key="chk_code")
    qr = st.text_input("或粘贴二维码内容", key="chk_qr")
    checked = st.form_submit_button("验证", icon=":material/verified:")
if checked:
    from core.services import tickets as tk

    text = qr.strip() or ticket_no.strip()
    if not text:
        st.warning("请输入准考证号和校验码，或粘贴二维码内容。")
    else:
        res = query(tk.check_ticket, actor, text, None if qr.strip() else (code.strip() or None))
        if res is not None:
            if res.valid:
                st.success("有效：准考证号与校验码一致，准考证信息如下。")
            else:
                st.error(f"无效：{getattr(res, 'message', None) or '准考证号与校验码不一致或准考证不存在。'}")
            details = {k: v for k, v in (("姓名", res.name), ("证件号码", res.id_number), ("科目", res.subject),
                                          ("考试时间", res.time), ("考场", res.room), ("座位号", res.seat),
                                          ("考点", res.site)) if v}
            if details:
                st.table({"项目": list(details), "内容": [str(v) for v in details.values()]})
