"""`python -m core demo`: a realistic, living NCRE system for a newcomer to look around."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import hash_password
from core.models import (
    ExamTerm, IntentQuota, OpWindow, Org, ProvinceNotice, ProvinceSubject, SiteFee, SiteSetting, SiteSubject,
    Subject, User,
)
from core.models.ncre import START_ONLY_WINDOWS, WINDOW_KINDS
from core.services.tree import add_org

# NCRE subjects: code, name, level, minutes
NCRE_SUBJECTS = [
    ("14", "一级计算机基础及MS Office应用", 1, 90),
    ("15", "一级计算机基础及WPS Office应用", 1, 90),
    ("16", "一级计算机基础及Photoshop应用", 1, 90),
    ("24", "二级C语言程序设计", 2, 120),
    ("26", "二级VB语言程序设计", 2, 120),
    ("28", "二级Java语言程序设计", 2, 120),
    ("29", "二级Access数据库程序设计", 2, 120),
    ("61", "二级C++语言程序设计", 2, 120),
    ("63", "二级MySQL数据库程序设计", 2, 120),
    ("64", "二级Web程序设计", 2, 120),
    ("65", "二级MS Office高级应用与设计", 2, 120),
    ("66", "二级Python语言程序设计", 2, 120),
    ("35", "三级网络技术", 3, 120),
    ("36", "三级数据库技术", 3, 120),
    ("37", "三级Linux应用与开发技术", 3, 120),
    ("38", "三级信息安全技术", 3, 120),
    ("39", "三级嵌入式系统开发技术", 3, 120),
    ("41", "四级网络工程师", 4, 90),
    ("42", "四级数据库工程师", 4, 90),
    ("43", "四级Linux应用与开发工程师", 4, 90),
    ("44", "四级信息安全工程师", 4, 90),
    ("45", "四级嵌入式系统开发工程师", 4, 90),
]

DEMO_PASSWORD = "Kaowu2026demo"

PROVINCES = [
    ("11", "北京市", [("1101", "北京市市辖区", [
        ("110001", "北京理工大学考点", "北京市海淀区中关村南大街5号"),
        ("110002", "北京交通大学考点", "北京市海淀区上园村3号"),
        ("110003", "首都师范大学考点", "北京市海淀区西三环北路105号"),
        ("110004", "北京工业大学考点", "北京市朝阳区平乐园100号"),
    ])]),
    ("44", "广东省", [
        ("4401", "广州市", [
            ("440101", "华南理工大学考点", "广州市天河区五山路381号"),
            ("440102", "广东工业大学考点", "广州市番禺区外环西路100号"),
            ("440103", "广州大学考点", "广州市番禺区外环西路230号"),
        ]),
        ("4403", "深圳市", [
            ("440301", "深圳大学考点", "深圳市南山区南海大道3688号"),
            ("440302", "深圳职业技术大学考点", "深圳市南山区西丽湖学苑大道7098号"),
            ("440303", "南方科技大学考点", "深圳市南山区学苑大道1088号"),
            ("440304", "深圳信息职业技术学院考点", "深圳市龙岗区龙城大道2188号"),
        ]),
    ]),
]


def ensure_subjects(s: Session) -> dict[str, Subject]:
    have = {x.code: x for x in s.scalars(select(Subject))}
    for code, name, level, minutes in NCRE_SUBJECTS:
        if code not in have:
            have[code] = Subject(code=code, name=name, level=level, duration_min=minutes)
            s.add(have[code])
    s.flush()
    return have


def _windows(s: Session, org: Org, term: ExamTerm, start: datetime, end: datetime) -> None:
    for kind in WINDOW_KINDS:
        s.add(OpWindow(org_id=org.id, term_id=term.id, kind=kind, start_at=start,
                       end_at=None if kind in START_ONLY_WINDOWS else end))


def load_demo(s: Session, now: datetime | None = None, log=print) -> dict:
    """Load the demo into an initialised database. Refuses to run twice."""
    now = (now or datetime.now()).replace(second=0, microsecond=0)
    if s.scalar(select(func.count()).select_from(Org).where(Org.kind == "province")):
        raise ValueError("数据库中已有省级机构，演示数据只能载入一次空库。")
    center = s.scalar(select(Org).where(Org.kind == "center"))
    if center is None:
        center = add_org(s, None, "000000", "教育部考试中心", "center")
    subjects = ensure_subjects(s)

    past = ExamTerm(code="69", name="2026年3月全国计算机等级考试", is_current=False,
                    exam_start=datetime(2026, 3, 28, 8), exam_end=datetime(2026, 3, 30, 18))
    exam_day = (now + timedelta(days=40)).date()
    exam_day = exam_day + timedelta(days=(5 - exam_day.weekday()) % 7)  # a Saturday
    cur = ExamTerm(code="70", name=f"{exam_day.year}年全国计算机等级考试（第70次）", is_current=True,
                   exam_start=datetime.combine(exam_day, time(8)),
                   exam_end=datetime.combine(exam_day + timedelta(days=2), time(18)))
    for t in s.scalars(select(ExamTerm).where(ExamTerm.is_current.is_(True))):
        t.is_current = False
    s.add_all([past, cur])
    s.flush()
    terms = [past.id, cur.id]
    from core.models import OrgTerm
    for t in terms:
        if not s.scalar(select(OrgTerm).where(OrgTerm.org_id == center.id, OrgTerm.term_id == t)):
            s.add(OrgTerm(org_id=center.id, term_id=t))

    pw = hash_password(DEMO_PASSWORD)
    accounts: list[tuple[str, str, str]] = []

    def user(org: Org, username: str, name: str, role: str, phone: str) -> None:
        s.add(User(username=username, passport_id=f"P{org.code}{len(accounts):02d}", name=name,
                   email=f"{username}@demo.kaowu.cn", phone=phone, org_id=org.id, role=role,
                   password_hash=pw, must_change_password=False))
        accounts.append((username, role, org.name))

    user(center, "center", "周中心", "center_admin", "13800000000")
    cur_open, cur_close = now - timedelta(days=10), now + timedelta(days=30)
    past_open, past_close = datetime(2026, 1, 5, 8), datetime(2026, 3, 31, 18)
    sites: list[Org] = []
    n = 0
    for pcode, pname, cities in PROVINCES:
        prov = add_org(s, center, pcode, pname, "province", terms, address=f"{pname}教育考试院")
        user(prov, f"prov{pcode}", f"{pname[:1]}省管", "province_admin", f"1390000{pcode}00")
        s.add(ProvinceNotice(province_id=prov.id, term_id=cur.id, updated_at=now,
                             content=f"{pname}考生请注意：报名时请如实填写个人信息，缴费成功后不予退费。"))
        for t, (a, b) in ((past, (past_open, past_close)), (cur, (cur_open, cur_close))):
            _windows(s, prov, t, a, b)
            for code, subj in subjects.items():
                day = (t.exam_start or now).date()
                s.add(ProvinceSubject(province_id=prov.id, term_id=t.id, subject_id=subj.id,
                                      exam_start=datetime.combine(day, time(8)),
                                      exam_end=datetime.combine(day + timedelta(days=2), time(18))))
        for ccode, cname, site_rows in cities:
            city = add_org(s, prov, ccode, cname, "city", terms, address=f"{cname}教育局")
            user(city, f"city{ccode}", f"{cname[:2]}市管", "city_admin", f"1370000{ccode}")
            for t, (a, b) in ((past, (past_open, past_close)), (cur, (cur_open, cur_close))):
                _windows(s, city, t, a, b)
            for scode, sname, addr in site_rows:
                n += 1
                site = add_org(s, city, scode, sname, "site", terms, address=addr, contact=f"考务老师{n}",
                               phone=f"0{ccode[:2]}-8{n:03d}0000", postcode=f"{ccode}00")
                sites.append(site)
                user(site, f"site{scode}", f"考点管理员{n}", "site_admin", f"1360000{scode[-4:]}")
                for t, (a, b) in ((past, (past_open, past_close)), (cur, (cur_open, cur_close))):
                    _windows(s, site, t, a, b)
                    day = (t.exam_start or now).date()
                    chosen = [c for i, c in enumerate(subjects) if (i + n) % 3 != 0]
                    s.add(SiteSetting(site_id=site.id, term_id=t.id, is_open=True, group_registration=True,
                                      group_payment=n % 2 == 0, review_required=n % 3 == 0, max_subjects=3,
                                      total_capacity=2000 + 100 * n, online_reg_enabled=True,
                                      online_reg_start=a + timedelta(days=1), online_reg_end=b - timedelta(days=1),
                                      allow_intent_date=n % 4 == 0,
                                      class_options="计算机一班;计算机二班；会计一班" if n % 2 else None,
                                      notice=f"{sname}：请考生携带身份证原件参加考试。",
                                      registry_enabled=n % 5 == 0, only_province_registry=False,
                                      only_site_registry=False, registry_allowed_sites=scode))
                    for code in chosen:
                        subj = subjects[code]
                        s.add(SiteSubject(site_id=site.id, term_id=t.id, subject_id=subj.id,
                                          exam_start=datetime.combine(day, time(8, 30)),
                                          exam_end=datetime.combine(day + timedelta(days=1), time(17, 30)),
                                          capacity=300 if subj.level <= 2 else 100))
                        s.add(SiteFee(site_id=site.id, term_id=t.id, subject_id=subj.id,
                                      fee=80 if subj.level <= 2 else 100))
                    if n % 4 == 0:
                        for d in range(3):
                            s.add(IntentQuota(site_id=site.id, term_id=t.id, exam_date=day + timedelta(days=d),
                                              quota=200))
    s.flush()
    log(f"演示数据已载入：2 个省、{len(sites)} 个考点、{len(subjects)} 个科目、2 个考次（当前：{cur.name}）。")
    log(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for u, role, org in accounts:
        log(f"  {u:<12} {role:<15} {org}")
    return {"accounts": accounts, "sites": [x.code for x in sites], "current_term": cur.id, "past_term": past.id}


def demo_loaded(s: Session) -> bool:
    return bool(s.scalar(select(func.count()).select_from(User).where(User.username == "center")))
