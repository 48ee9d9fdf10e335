"""机考数据下载 (001 §47): generate the machine-exam data (ZIP with `<考点代码>.DBF`, dBase III, GBK) —
one record per arranged 报考 — then download it (inside the 考前资料下载时间)."""
import pandas as pd
import streamlit as st

from core.services import cbt
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head

actor, site_id, flags = registration_head("机考数据下载")
with st.expander("说明", expanded=False, icon=":material/info:"):
    st.markdown(
        "1. 考点用户可以在本页面查看、生成、下载本考点用于机考系统的机考数据文件。\n"
        "2. 机考数据需要在编排完成并生成准考证号后，报名数据和编排数据不再变化时才可以生成。\n"
        "3. 机考数据需要先生成后下载，页面显示文件的生成时间和文件大小；如果无法确定生成之后数据是否有变动，"
        "下载前请先重新生成。\n"
        "4. 下载到的文件为 .ZIP 压缩包，解压为以考点代码命名的 .DBF 文件（dBase III 格式，GBK 编码），"
        "每个已编排的报考科次一条记录。")
    st.dataframe(pd.DataFrame([{"字段": f.name, "含义": cbt.CBT_LABELS[f.name], "类型": f.type,
                                "长度": f.length, "小数": f.decimals} for f in cbt.CBT_FIELDS]),
                 hide_index=True)
    st.caption("字符字段的长度按 GBK 字节计（一个汉字 2 字节），超长时在完整汉字处截断；日期为 D 型（年月日）。")
generated_panel(actor, site_id, "cbt_data", cbt.build_cbt_data)
