"""The welcome page's 基本信息 (001 §6.4)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import Actor
from core.models import ExamTerm, OrgTerm, ProvinceNotice, SiteSetting
from core.models.ncre import WINDOW_KINDS
from core.services.base import window_state


def welcome_info(s: Session, actor: Actor) -> dict[str, str]:
    term = s.get(ExamTerm, actor.term_id) if actor.term_id else None
    info = {"机构名称": actor.org_name, "角色": actor.role_label,
            "当前考次": f"({term.code}) {term.name}" if term else "未设置"}
    if actor.org_kind == "site" and term:
        st = s.scalar(select(SiteSetting).where(SiteSetting.site_id == actor.org_id, SiteSetting.term_id == term.id))
        ot = s.scalar(select(OrgTerm).where(OrgTerm.org_id == actor.org_id, OrgTerm.term_id == term.id))
        info["是否启用"] = "是" if (ot is None or ot.enabled) else "否"
        info["是否开考"] = "是" if st and st.is_open else "否"
        info["考点报名通告"] = "已设置" if st and st.notice else "未设置"
    if term:
        for kind in WINDOW_KINDS:
            w = window_state(s, actor, kind)
            if w.applies:
                info[w.label] = w.text.split("：", 1)[1]
    if actor.org_kind in ("province", "city", "site") and term:
        prov_id = int(actor.org_path.strip("/").split("/")[1])
        n = s.scalar(select(ProvinceNotice).where(ProvinceNotice.province_id == prov_id,
                                                   ProvinceNotice.term_id == term.id))
        info["省报名通告"] = "已设置" if n and n.content else "未设置"
    return info
