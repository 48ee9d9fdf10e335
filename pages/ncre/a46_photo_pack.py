"""照片包下载 (001 §46): generate the ZIP of the arranged candidates' photos for the machine-exam system —
one folder named by the site code, `<准考证号>.jpg` — then download it (inside the 考前资料下载时间,
enforced by the generate-then-download framework)."""
import streamlit as st

from core.services import cbt
from core.ui.generated import generated_panel
from core.ui.ncre import registration_head

actor, site_id, flags = registration_head("照片包下载")
with st.expander("说明", expanded=False, icon=":material/info:"):
    st.markdown(
        "1. 考点用户可以在本页面查看、生成、下载本考点用于机考系统的照片包。\n"
        "2. 照片包需要在编排完成并生成准考证号后，报名数据和编排数据不再变化时才可以生成。\n"
        "3. 照片包需要先生成后下载，页面显示文件的生成时间和文件大小；如果无法确定生成之后数据是否有变动，"
        "下载前请先重新生成。\n"
        "4. 下载到的文件为 .ZIP 压缩包，解压为以考点代码命名的文件夹，其中每个准考证号一张 jpg 照片"
        "（文件名为准考证号；同一考生报考多个科目时，每个准考证号各一张，照片相同）。"
        f"已编排但没有照片的考生列在压缩包中的“{cbt.MISSING_LIST}”里。")
generated_panel(actor, site_id, "photo_pack", cbt.build_photo_pack)
