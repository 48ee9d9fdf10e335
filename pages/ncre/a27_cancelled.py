"""取消考试信息查看 (001 §27): the 报考 a site cancelled, with reason, who and when; query and export."""
from core.specs.cancelled import CANCELLED
from core.ui.entity_page import entity_page

entity_page(CANCELLED)
