"""`python -m core demo`: a realistic, living NCRE system for a newcomer to look around."""
from __future__ import annotations

import random
import time as _time
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import hash_password
from core.models import (
    ExamTerm, IntentQuota, OpWindow, Org, ProvinceNotice, ProvinceSubject, SiteFee, SiteSetting, SiteSubject,
    Subject, User,
)
from core.models.ncre import START_ONLY_WINDOWS, WINDOW_KINDS
from core.services.tree import add_org
from core.services.demo_oces import load_oces_demo

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


def load_demo(s: Session, now: datetime | None = None, log=print, oces: bool = True) -> dict:
    """Load the demo into an initialised database. Refuses to run twice. `oces`: also the OCES
    学习中心平台 demo (service tests that do not need it skip it)."""
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
                    if n % 4 == 0:  # intent quotas on the two days the site's subjects run
                        for d in range(2):
                            s.add(IntentQuota(site_id=site.id, term_id=t.id, exam_date=day + timedelta(days=d),
                                              quota=200))
    s.flush()
    if oces:
        load_oces_demo(s, center, terms, pw, accounts, now)  # OCES 学习中心平台 (000)
    log(f"演示数据已载入：2 个省、{len(sites)} 个考点、{len(subjects)} 个科目、2 个考次（当前：{cur.name}）。")
    log(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for u, role, org in accounts:
        log(f"  {u:<12} {role:<15} {org}")
    return {"accounts": accounts, "sites": [x.code for x in sites], "current_term": cur.id, "past_term": past.id}


def demo_loaded(s: Session) -> bool:
    return bool(s.scalar(select(func.count()).select_from(User).where(User.username == "center")))


# ================================================================ demo candidates (报名数据)
DEMO_SEED = 2026
DEMO_CANDIDATES = 20_000

# Real county-level region codes (GB/T 2260) of the two demo provinces.
REGIONS = {
    "11": ("110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112", "110113",
           "110114", "110115", "110116", "110117", "110118", "110119"),
    "44": ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115", "440117",
           "440118", "440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310", "440311",
           "440402", "440507", "440604", "440605", "440606", "440803", "441302", "441900", "442000", "445102"),
}
ADDRESSES = {
    "11": ("北京市海淀区学院路{}号", "北京市朝阳区建国路{}号", "北京市丰台区南三环西路{}号", "北京市昌平区回龙观东大街{}号",
           "北京市西城区西直门外大街{}号", "北京市通州区新华大街{}号"),
    "44": ("广州市天河区天河路{}号", "广州市番禺区大学城外环东路{}号", "深圳市南山区科技园南路{}号",
           "深圳市福田区深南大道{}号", "佛山市南海区桂城南海大道{}号", "东莞市南城区鸿福路{}号"),
}
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚"
            "沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "司徒", "东方")
GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰建志晨博昊然轩睿泽宇航子豪梓铭嘉乐天佳"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玉兰萍婷雪琳晶颖倩慧莹欣怡思雨涵萱悦璐佳琪梦瑶月婉清诗雅欢蕾瑾彤"
DEPARTMENTS = (
    ("计算机学院", ("计算机科学与技术", "软件工程", "网络工程", "数据科学与大数据技术")),
    ("经济管理学院", ("会计学", "工商管理", "金融学", "市场营销")),
    ("外国语学院", ("英语", "日语", "商务英语")),
    ("机械工程学院", ("机械设计制造及其自动化", "车辆工程")),
    ("文学院", ("汉语言文学", "新闻学")),
    ("电子信息学院", ("电子信息工程", "通信工程", "自动化")),
    ("艺术设计学院", ("视觉传达设计", "环境设计")),
)
# How popular each NCRE subject is (relative weights of a registration).
SUBJECT_WEIGHTS = {"65": 30, "14": 16, "66": 14, "24": 9, "15": 5, "16": 3, "28": 3, "26": 1, "29": 2, "61": 3,
                   "63": 2, "64": 2, "35": 3, "36": 1.5, "37": 0.5, "38": 1.5, "39": 0.5, "41": 0.8, "42": 0.5,
                   "43": 0.2, "44": 0.4, "45": 0.2}
EDUCATION_WEIGHTS = (("大学本科", 55), ("大学专科", 25), ("硕士研究生", 7), ("普通高中", 4), ("中等专科", 4),
                     ("职业高中", 2), ("博士研究生", 1), ("技工学校", 1), ("其他", 1))
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "outlook.com", "foxmail.com", "139.com")
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                  "157", "158", "159", "166", "173", "177", "178", "180", "181", "182", "183", "185", "186", "187",
                  "188", "189", "191", "198", "199")
CANCEL_REASONS = ("考生本人申请取消（考试时间冲突）", "考生重复报考，申请取消该科目", "考生因病不能参加考试，申请取消")
REJECT_REASONS = {"photo": "照片背景不是纯色或非近期免冠正面照", "info": "姓名与证件不一致，请核对后重新提交",
                  "other": "请补充联系地址"}


class DemoPeople:
    """A deterministic generator of realistic candidates: valid 居民身份证号码 (GB 11643; about 9 % end in X),
    Chinese names, genders matching the 17th digit, unique phones and e-mails. Shared with the benchmarks."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.ids: set[str] = set()
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def id_number(self, province: str, born: date, male: bool, x: bool) -> str:
        """A new valid ID number; `x`: the check character is X (chosen by trying the sequence digits)."""
        from core.imports.engine import id_check_char

        rnd = self.rnd
        while True:
            region = rnd.choice(REGIONS[province])
            seq = rnd.randrange(100)
            sex = rnd.randrange(1 if male else 0, 10, 2)
            first17 = f"{region}{born:%Y%m%d}{seq:02d}{sex}"
            check = id_check_char(first17)
            if (check == "X") == x and first17 + check not in self.ids:
                self.ids.add(first17 + check)
                return first17 + check

    def name(self, male: bool) -> str:
        rnd = self.rnd
        surname = rnd.choice(COMPOUND_SURNAMES) if rnd.random() < 0.01 else rnd.choice(SURNAMES)
        chars = GIVEN_MALE if male else GIVEN_FEMALE
        given = rnd.choice(chars) + (rnd.choice(chars) if rnd.random() < 0.75 else "")
        return surname + given

    def phone(self) -> str:
        while True:
            p = self.rnd.choice(PHONE_PREFIXES) + f"{self.rnd.randrange(10 ** 8):08d}"
            if p not in self.phones:
                self.phones.add(p)
                return p

    def email(self, phone: str, student_no: str | None) -> str:
        rnd = self.rnd
        while True:
            domain = rnd.choice(EMAIL_DOMAINS)
            if domain == "qq.com":
                local = str(rnd.randrange(10 ** 7, 4 * 10 ** 9))
            elif domain == "139.com":
                local = phone
            elif student_no and rnd.random() < 0.3:
                local = f"s{student_no}"
            else:
                local = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(3, 7)))
                local += str(rnd.randrange(10, 99999))
            e = f"{local}@{domain}"
            if e not in self.emails:
                self.emails.add(e)
                return e

    def person(self, province: str, *, student: bool = True) -> dict:
        """Personal data (the PERSON_FIELDS of core.services.registration, without subjects)."""
        from core.codes import ETHNICITIES, ID_CARD, OCCUPATIONS

        rnd = self.rnd
        male = rnd.random() < 0.52
        year = rnd.randint(1995, 2008) if not student else rnd.choice((2001, 2002, 2003, 2004, 2004, 2005, 2005,
                                                                         2006, 2006, 2007, 2000, 1999))
        born = date(year, 1, 1) + timedelta(days=rnd.randrange(365))
        idn = self.id_number(province, born, male, rnd.random() < 0.09)
        edu = rnd.choices([e for e, _ in EDUCATION_WEIGHTS], [w for _, w in EDUCATION_WEIGHTS])[0]
        if student:
            occ = "在校学生"
        else:
            occ = rnd.choice(OCCUPATIONS[1:]) if rnd.random() < 0.7 else "在校学生"
        eth = "汉族" if rnd.random() < 0.92 else rnd.choice(ETHNICITIES[1:20])
        phone = self.phone()
        return {"id_type": ID_CARD, "id_number": idn, "name": self.name(male), "gender": "男" if male else "女",
                "birth_date": born, "ethnicity": eth, "education": edu, "occupation": occ, "phone": phone,
                "email": None, "department": None, "major": None, "class_name": None, "student_no": None,
                "postcode": None, "address": rnd.choice(ADDRESSES[province]).format(rnd.randint(1, 399)),
                "extra": None, "remark": None, "intent_date": None}


def demo_photos(count: int = 6) -> list[tuple[str, int]]:
    """A handful of small 证件照-like JPEGs (144×192, plain background, head and shoulders) in the file
    store: [(sha256, size)]."""
    import io

    from PIL import Image, ImageDraw

    from core.workflow import save_blob

    backgrounds = ((255, 255, 255), (67, 142, 219), (214, 0, 24), (240, 240, 240), (80, 150, 230), (255, 255, 255))
    skins = ((241, 204, 176), (224, 184, 150), (236, 196, 168), (214, 170, 140))
    clothes = ((30, 30, 40), (40, 60, 110), (230, 230, 235), (90, 40, 40), (50, 80, 60), (20, 20, 20))
    out = []
    for i in range(count):
        img = Image.new("RGB", (144, 192), backgrounds[i % len(backgrounds)])
        d = ImageDraw.Draw(img)
        d.ellipse((22, 140, 122, 250), fill=clothes[i % len(clothes)])  # shoulders
        d.rectangle((60, 112, 84, 146), fill=skins[i % len(skins)])  # neck
        d.ellipse((44, 40, 100, 116), fill=skins[i % len(skins)])  # face
        d.chord((40, 30, 104, 92), 180, 360, fill=(25 + 10 * i, 20, 15))  # hair
        d.ellipse((57, 70, 63, 75), fill=(30, 30, 30))
        d.ellipse((81, 70, 87, 75), fill=(30, 30, 30))
        d.arc((62, 88, 82, 100), 20, 160, fill=(150, 60, 60), width=2)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        data = buf.getvalue()
        out.append((save_blob(data), len(data)))
    return out


def _round_up(x: float, step: int) -> int:
    return int(-(-x // step) * step)


def _split(n: int, weights: list[float]) -> list[int]:
    total = sum(weights)
    shares = [int(n * w / total) for w in weights]
    for i in range(n - sum(shares)):
        shares[i % len(shares)] += 1
    return shares


def load_demo_registrations(s: Session, n: int = DEMO_CANDIDATES, seed: int = DEMO_SEED,
                            now: datetime | None = None, log=print) -> dict:
    """Fill the current 考次 of the demo with `n` candidates at the 11 demo sites (报名信息, 报考, 学籍, photos,
    reviews, payments, cancellations, locks), following every site's settings. Deterministic for a seed.

    Capacities (SiteSubject.capacity, SiteSetting.total_capacity, IntentQuota.quota) are raised so the data
    fits with room to spare, except one full and two nearly full subjects (the colours of 科目容量统计).
    Bulk inserts (core.services.registration.write_people) plus the real services for reviews, 集体缴费批次
    and 取消考试 (they need the sites' 报名管理时间 open, as the demo sets them). Refuses to run twice."""
    from core.auth import actor_for
    from core.models import (
        CancelledRegistration, Candidate, CandidateAccount, CandidatePhoto, Enrollment, PaymentOrder, Registration,
        RegistryRecord,
    )
    from core.services import candidates as cand_svc
    from core.services import payment as pay_svc
    from core.services import registration as reg
    from core.services.ncre_setup import CAPACITY_MAX, class_options_list
    from core.workflow import submit_many
    from sqlalchemy import bindparam, insert, update

    t0 = _time.perf_counter()
    now = (now or datetime.now()).replace(microsecond=0)
    rnd = random.Random(seed)
    gen = DemoPeople(rnd)
    term = s.scalar(select(ExamTerm).where(ExamTerm.is_current.is_(True)))
    if term is None:
        raise ValueError("没有当前考次，无法载入演示考生。")
    if s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.term_id == term.id)):
        raise ValueError("当前考次已有报名数据，演示考生只能载入一次。")
    codes = [code for _p, _n, cities in PROVINCES for _c, _cn, rows in cities for code, _sn, _a in rows]
    orgs = {o.code: o for o in s.scalars(select(Org).where(Org.kind == "site", Org.code.in_(codes)))}
    sites = [orgs[c] for c in codes if c in orgs]
    if not sites:
        raise ValueError("没有演示考点，请先载入演示数据。")
    subjects = {x.id: x for x in s.scalars(select(Subject))}
    photos = demo_photos()
    tid = term.id
    reg_open = now - timedelta(days=9)

    # ---- plan: who registers where, with which subjects
    weights = [rnd.uniform(0.6, 1.4) for _ in sites]
    shares = _split(n, weights)
    plans = []
    for idx, (site, share) in enumerate(zip(sites, shares)):
        st = reg.site_setting(s, site.id, tid)
        if st is None or not st.is_open:
            continue
        ss = {x.subject_id: x for x in s.scalars(select(SiteSubject).where(SiteSubject.site_id == site.id,
                                                                          SiteSubject.term_id == tid))}
        popular = sorted(ss, key=lambda sid: -SUBJECT_WEIGHTS.get(subjects[sid].code, 1))
        if idx == 2 and len(popular) > 3:  # 不限: one popular subject without a limit
            ss[popular[2]].capacity = CAPACITY_MAX
        if idx == 7 and len(popular) > 4:  # 不开考: a rare subject set to capacity 0
            ss[popular[-1]].capacity = 0
        open_ids = [sid for sid, x in ss.items() if x.capacity]
        if not open_ids:
            continue
        sub_w = [SUBJECT_WEIGHTS.get(subjects[sid].code, 1) for sid in open_ids]
        province = site.code[:2]
        options = class_options_list(st)
        quotas = list(s.scalars(select(IntentQuota).where(IntentQuota.site_id == site.id, IntentQuota.term_id == tid)
                                .order_by(IntentQuota.exam_date))) if st.allow_intent_date else []
        people = []
        for i in range(share):
            individual = rnd.random() < 0.2
            p = gen.person(province if rnd.random() < 0.85 else ("44" if province == "11" else "11"),
                           student=not individual)
            if not individual:
                dept, majors = rnd.choice(DEPARTMENTS)
                p["department"], p["major"] = dept, rnd.choice(majors)
                enrol = rnd.choice((2021, 2022, 2023, 2024, 2025))
                p["student_no"] = f"{enrol}{idx + 1:02d}{i:05d}"
                p["class_name"] = (rnd.choice(options) if options else
                                   f"{p['major'][:4]}{enrol % 100}{rnd.randint(1, 4):02d}班")
                p["_enrol_year"] = enrol
            p["email"] = gen.email(p["phone"], p["student_no"])
            p["postcode"] = site.postcode
            if quotas and rnd.random() < 0.7:
                p["intent_date"] = rnd.choice(quotas).exam_date
            k = min(rnd.choices((1, 2, 3), (70, 23, 7))[0], st.max_subjects or 1, len(open_ids))
            chosen: list[int] = []
            while len(chosen) < k:
                sid = rnd.choices(open_ids, sub_w)[0]
                if sid not in chosen:
                    chosen.append(sid)
            p["subject_ids"] = chosen
            p["_channel"] = "individual" if individual else "group"
            p["_day"] = rnd.randrange(10)
            p["_photo"] = photos[rnd.randrange(len(photos))] if rnd.random() < 0.9 else None
            p["_registry"] = bool(st.registry_enabled and not individual and rnd.random() < 0.85)
            p["is_registry"] = p["_registry"]
            people.append(p)
        # capacity: room for everyone, 55–85 % full; total 总科次 likewise
        counts = Counter(sid for p in people for sid in p["subject_ids"])
        for sid, x in ss.items():
            if x.capacity and x.capacity < CAPACITY_MAX:
                need = _round_up(counts.get(sid, 0) / rnd.uniform(0.55, 0.85), 50)
                x.capacity = min(max(x.capacity, need), CAPACITY_MAX - 1)
        total_regs = sum(counts.values())
        st.total_capacity = max(st.total_capacity or 0, _round_up(total_regs / rnd.uniform(0.6, 0.85), 100))
        if quotas:
            days = Counter(p["intent_date"] for p in people if p["intent_date"])
            for q in quotas:
                q.quota = max(q.quota, _round_up(days.get(q.exam_date, 0) * 1.15, 10))
            st.total_capacity = max(st.total_capacity, sum(q.quota for q in quotas), 2 * max(q.quota for q in quotas))
        st.total_capacity = min(st.total_capacity, CAPACITY_MAX)  # above 99998 only 不限 remains
        plans.append((idx, site, st, people))
    s.flush()

    stats = Counter()
    for idx, site, st, people in plans:
        admin = s.scalar(select(User).where(User.org_id == site.id, User.role == "site_admin")
                         .order_by(User.id).limit(1))
        actor = actor_for(s, admin, tid)
        # 学籍 (§20): the site's students, plus some who do not register this 考次
        rows = [p for p in people if p["_registry"]]
        if rows:
            extra = []
            for i in range(len(rows) // 4):
                q = gen.person(site.code[:2])
                dept, majors = rnd.choice(DEPARTMENTS)
                q.update(department=dept, major=rnd.choice(majors), student_no=f"{2025}{idx + 1:02d}{90000 + i:05d}",
                         class_name=rows[i % len(rows)]["class_name"], _enrol_year=2025)
                extra.append(q)
            s.execute(insert(RegistryRecord), [dict(
                site_id=site.id, id_type=p["id_type"], id_number=p["id_number"], name=p["name"], gender=p["gender"],
                birth_date=p["birth_date"], ethnicity=p["ethnicity"], education=p["education"],
                department=p["department"], major=p["major"], class_name=p["class_name"], student_no=p["student_no"],
                enrol_year=p.get("_enrol_year"), phone=p["phone"], remark=None) for p in rows + extra])
            stats["registry"] += len(rows) + len(extra)
        # 照片目录 (§23): write_people links these to the new 报名信息
        with_photo = [p for p in people if p["_photo"]]
        if with_photo:
            s.execute(insert(CandidatePhoto), [dict(term_id=tid, site_id=site.id, id_number=p["id_number"],
                                                    sha256=p["_photo"][0], size=p["_photo"][1],
                                                    uploaded_at=reg_open + timedelta(days=p["_day"], hours=10))
                                               for p in with_photo])
            stats["photos"] += len(with_photo)
        reg.require_seats(s, site.id, tid, Counter(sid for p in people for sid in p["subject_ids"]))
        enroll: dict[str, int] = {}
        for channel in ("group", "individual"):
            mine = sorted((p for p in people if p["_channel"] == channel), key=lambda p: p["_day"])
            if not mine:
                continue
            enroll.update(reg.write_people(s, site.id, tid, mine, channel=channel)["enrollments"])
            for day in range(10):  # registered over the days since 报名 opened
                ids = [enroll[p["id_number"]] for p in mine if p["_day"] == day]
                at = reg_open + timedelta(days=day, hours=rnd.randint(8, 20), minutes=rnd.randrange(60))
                for part in reg.chunks(ids):
                    s.execute(update(Enrollment).where(Enrollment.id.in_(part)).values(created_at=at, updated_at=at)
                              .execution_options(synchronize_session=False))
                    s.execute(update(Registration).where(Registration.enrollment_id.in_(part))
                              .values(created_at=at, updated_at=at).execution_options(synchronize_session=False))
        for p in people:
            p["_eid"] = enroll[p["id_number"]]
        stats["enrollments"] += len(people)

        # 报名信息审核 (§26): everyone submitted; 70 % approved, 10 % rejected, the rest pending
        approved = set()
        if st.review_required:
            apps = submit_many(s, actor, reg.REVIEW_SPEC, {reg.review_key(tid, p["id_number"]): site.id
                                                            for p in people})
            s.connection().execute(
                Enrollment.__table__.update().where(Enrollment.__table__.c.id == bindparam("eid")),
                [dict(eid=p["_eid"], review_app_id=apps[reg.review_key(tid, p["id_number"])], locked=True)
                 for p in people])
            fate = {p["_eid"]: ("approve" if p["_photo"] and r < 0.7 else "reject" if r >= 0.9 else "pending")
                    for p in people for r in (rnd.random(),)}
            ok = [e for e, f in fate.items() if f == "approve"]
            if ok:
                cand_svc.review(s, actor, ok, "approve")
                approved = set(ok)
            bad = [e for e, f in fate.items() if f == "reject"]
            for kind, part in (("photo", bad[0::3]), ("info", bad[1::3]), ("other", bad[2::3])):
                if part:
                    cand_svc.review(s, actor, part, "reject", kind, REJECT_REASONS[kind])
            stats["review_approved"] += len(ok)
            stats["review_rejected"] += len(bad)
            stats["review_pending"] += sum(1 for f in fate.values() if f == "pending")
        may_pay = [p for p in people if not st.review_required or p["_eid"] in approved]

        # 缴费: 集体缴费批次 on group_payment sites, the candidates' own orders otherwise
        regs_of: dict[int, list[tuple[int, int, Decimal]]] = {}
        for rid, eid, sid, fee in s.execute(select(Registration.id, Registration.enrollment_id,
                                                   Registration.subject_id, Registration.fee)
                                            .where(Registration.site_id == site.id, Registration.term_id == tid)
                                            .order_by(Registration.id)):
            regs_of.setdefault(eid, []).append((rid, sid, Decimal(str(fee))))
        own_orders = []
        group_people = [p for p in may_pay if p["_channel"] == "group"]
        if st.group_payment and group_people:
            rnd.shuffle(group_people)
            m = len(group_people)
            cuts = [group_people[:m * 50 // 100], group_people[m * 50 // 100:m * 85 // 100],
                    group_people[m * 85 // 100:m * 90 // 100]]
            for b, batch in enumerate(cuts):
                if not batch:
                    continue
                order = pay_svc.create_group_batch(s, actor, site.id, [p["_eid"] for p in batch])
                stats["group_batches"] += 1
                created = reg_open + timedelta(days=3 + 3 * b, hours=9)
                if b < 2:
                    pay_svc.pay_batch(s, actor, order.id, f"DEMO{site.code}{b + 1:02d}{rnd.randrange(10 ** 6):06d}")
                    paid_at = created + timedelta(hours=2)
                    s.execute(update(PaymentOrder).where(PaymentOrder.id == order.id)
                              .values(created_at=created, paid_at=paid_at))
                    s.execute(update(Registration).where(Registration.order_id == order.id).values(paid_at=paid_at)
                              .execution_options(synchronize_session=False))
                else:
                    s.execute(update(PaymentOrder).where(PaymentOrder.id == order.id).values(created_at=created))
        else:
            own_orders += [p for p in group_people if rnd.random() < 0.85]
        for p in may_pay:
            if p["_channel"] == "individual" and rnd.random() < 0.88:
                own_orders.append(p)
        order_rows, order_regs = [], []
        for k, p in enumerate(own_orders):
            items = regs_of.get(p["_eid"], [])
            if not items:
                continue
            if len(items) > 1 and rnd.random() < 0.05:  # paid the first subject, added another later: 部分支付
                items = items[:1]
            unpaid = p["_channel"] == "individual" and rnd.random() < 0.04  # an order left unpaid
            created = reg_open + timedelta(days=p["_day"], hours=rnd.randint(8, 22), minutes=rnd.randrange(60))
            paid_at = None if unpaid else created + timedelta(minutes=rnd.randint(1, 30))
            order_rows.append(dict(term_id=tid, site_id=site.id, kind="individual",
                                   state="unpaid" if unpaid else "paid", candidate_count=1, item_count=len(items),
                                   subject_codes=",".join(sorted(subjects[sid].code for _, sid, _ in items)),
                                   amount=sum((f for _, _, f in items), Decimal(0)), provider="offline",
                                   provider_ref=f"DEMO{tid}{site.code}{k:06d}",
                                   payer_ref=None if unpaid else f"WX{rnd.randrange(10 ** 12):012d}",
                                   created_by=None, created_at=created, paid_at=paid_at))
            order_regs.append(items)
        if order_rows:
            # RETURNING the key, not sort_by_parameter_order: that is one statement per row on SQLite
            got = dict((ref, i) for i, ref in s.execute(insert(PaymentOrder).returning(
                PaymentOrder.id, PaymentOrder.provider_ref), order_rows))
            oids = [got[o["provider_ref"]] for o in order_rows]
            t = Registration.__table__
            s.connection().execute(
                update(t).where(t.c.id == bindparam("rid"))
                .values(paid=bindparam("b_paid"), paid_at=bindparam("b_paid_at"), order_id=bindparam("b_oid")),
                [dict(rid=rid, b_paid=o["state"] == "paid", b_paid_at=o["paid_at"], b_oid=oid)
                 for oid, o, items in zip(oids, order_rows, order_regs) for rid, _, _ in items])
            stats["own_orders"] += len(order_rows)

        # a few more locked 报名信息 (§25.12), on sites without review (review already locks)
        if not st.review_required:
            lock = [p["_eid"] for p in people if rnd.random() < 0.02]
            for part in reg.chunks(lock):
                s.execute(update(Enrollment).where(Enrollment.id.in_(part)).values(locked=True)
                          .execution_options(synchronize_session=False))
        # 取消考试 (§25.9): two unpaid individual candidates per site cancel one subject
        unpaid_regs = {eid for eid, in s.execute(select(Registration.enrollment_id).where(
            Registration.site_id == site.id, Registration.term_id == tid, Registration.order_id.is_(None)))}
        picks = [p for p in people if p["_channel"] == "individual" and len(p["subject_ids"]) > 1
                 and p["_eid"] in unpaid_regs][:2]
        for j, p in enumerate(picks):
            stats["cancelled"] += cand_svc.cancel_exam(s, actor, [p["_eid"]], CANCEL_REASONS[(idx + j) % 3],
                                                       subject_id=p["subject_ids"][-1])
        stats["sites"] += 1

    # ---- 科目容量统计 colours: one subject full, two nearly full (less than 10 % left)
    counts = {(a, b): c for a, b, c in s.execute(select(Registration.site_id, Registration.subject_id, func.count())
                                                 .where(Registration.term_id == tid)
                                                 .group_by(Registration.site_id, Registration.subject_id))}
    for k, (idx, rank) in enumerate(((0, 0), (5, 0), (8, 1))):
        if idx >= len(sites):
            continue
        mine = sorted(((c, sid) for (site_id, sid), c in counts.items() if site_id == sites[idx].id), reverse=True)
        if len(mine) <= rank or mine[rank][0] < 5:
            continue
        c, sid = mine[rank]
        x = s.scalar(select(SiteSubject).where(SiteSubject.site_id == sites[idx].id, SiteSubject.term_id == tid,
                                               SiteSubject.subject_id == sid))
        if x is not None and x.capacity < CAPACITY_MAX:
            x.capacity = c if k == 0 else c + max(1, c * 5 // 100)
    s.flush()

    # ---- 编排 (§30–32): two sites arranged, with 准考证号 (one of them has intent candidates)
    arranged = [arrange_demo_site(s, code, now=now, log=log) for code in DEMO_ARRANGED_SITES if code in orgs]
    # ---- after the exam (§38–45): 违规, 成绩, 证书直邮, 分账 at the arranged sites
    postexam = load_demo_postexam(s, tuple(a["site"] for a in arranged if a["tickets"]), seed=seed, log=log)

    def count(model, *where) -> int:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    out = {
        "term_id": tid, "sites": stats["sites"],
        "candidates": count(Enrollment, Enrollment.term_id == tid),
        "registrations": count(Registration, Registration.term_id == tid),
        "paid_registrations": count(Registration, Registration.term_id == tid, Registration.paid.is_(True)),
        "individual": count(Enrollment, Enrollment.term_id == tid, Enrollment.channel == "individual"),
        "registry_records": stats["registry"], "photos": stats["photos"],
        "group_batches": stats["group_batches"], "own_orders": stats["own_orders"],
        "review": {"approved": stats["review_approved"], "rejected": stats["review_rejected"],
                   "pending": stats["review_pending"]},
        "cancelled": count(CancelledRegistration, CancelledRegistration.term_id == tid),
        "locked": count(Enrollment, Enrollment.term_id == tid, Enrollment.locked.is_(True)),
        "accounts": count(CandidateAccount), "people": count(Candidate), "arranged": arranged,
        "postexam": postexam,
        "seconds": round(_time.perf_counter() - t0, 1),
    }
    log(f"演示考生已载入（{term.name}）：{out['candidates']} 名考生、{out['registrations']} 科次报考"
        f"（已支付 {out['paid_registrations']}），{out['sites']} 个考点；学籍 {out['registry_records']} 条，"
        f"照片 {out['photos']} 张，集体缴费批次 {out['group_batches']} 个，个人订单 {out['own_orders']} 个，"
        f"取消考试 {out['cancelled']} 科次；用时 {out['seconds']} 秒。")
    return out


# ================================================================ demo arrangement (编排, 准考证号)
DEMO_ARRANGED_SITES = ("110001", "110004")  # 110004 lets candidates choose an intent date
DEMO_ROOM_SEATS = 30
DEMO_DAY_TIMES = ((time(8, 30), time(10, 30)), (time(11, 0), time(13, 0)), (time(14, 0), time(16, 0)))


def arrange_demo_site(s: Session, site_code: str = "110001", now: datetime | None = None, log=print) -> dict:
    """Arrange one demo site of the current 考次 as its administrator would: every 报考 paid (the open orders
    paid, the rest in one paid order per candidate — seed data), rooms of 30 seats with 3 sessions a day on
    the exam days its subjects run, sized to fit, then 自动编排 and 准考证号 (core.services.arrangement)."""
    from core.auth import actor_for
    from core.models import PaymentOrder, Registration
    from core.models.arrange import ExamRoom
    from core.services import arrangement as ar
    from core.services.registration import chunks
    from sqlalchemy import bindparam, insert, update

    t0 = _time.perf_counter()
    now = (now or datetime.now()).replace(microsecond=0)
    term = s.scalar(select(ExamTerm).where(ExamTerm.is_current.is_(True)))
    site = s.scalar(select(Org).where(Org.code == site_code, Org.kind == "site"))
    if term is None or site is None:
        raise ValueError(f"没有当前考次或考点 {site_code}。")
    if s.scalar(select(func.count()).select_from(ExamRoom).where(ExamRoom.site_id == site.id,
                                                                 ExamRoom.term_id == term.id)):
        raise ValueError(f"考点 {site_code} 已有考场，演示编排只能载入一次。")
    admin = s.scalar(select(User).where(User.org_id == site.id, User.role == "site_admin").order_by(User.id).limit(1))
    actor = actor_for(s, admin, term.id)

    # every 报考 paid: open orders (a 集体缴费批次 or a candidate's order) paid, the rest in a new paid order
    unpaid = s.execute(select(Registration.id, Registration.enrollment_id, Registration.order_id, Registration.fee,
                              Subject.code).join(Subject, Subject.id == Registration.subject_id)
                       .where(Registration.site_id == site.id, Registration.term_id == term.id,
                              Registration.paid.is_(False)).order_by(Registration.id)).all()
    open_orders = sorted({r.order_id for r in unpaid if r.order_id})
    for part in chunks(open_orders):
        s.execute(update(PaymentOrder).where(PaymentOrder.id.in_(part))
                  .values(state="paid", paid_at=now, payer_ref=f"DEMO{site_code}ARR")
                  .execution_options(synchronize_session=False))
        s.execute(update(Registration).where(Registration.order_id.in_(part)).values(paid=True, paid_at=now)
                  .execution_options(synchronize_session=False))
    loose: dict[int, list] = {}
    for r in unpaid:
        if not r.order_id:
            loose.setdefault(r.enrollment_id, []).append(r)
    if loose:
        rows = [dict(term_id=term.id, site_id=site.id, kind="individual", state="paid", candidate_count=1,
                     item_count=len(items), subject_codes=",".join(sorted(i.code for i in items)),
                     amount=sum((Decimal(str(i.fee)) for i in items), Decimal(0)), provider="offline",
                     provider_ref=f"DEMOARR{term.id}{site_code}{k:06d}", payer_ref=f"WX{site_code}{k:06d}",
                     created_by=None, created_at=now, paid_at=now) for k, items in enumerate(loose.values())]
        got = dict((ref, i) for i, ref in s.execute(insert(PaymentOrder).returning(
            PaymentOrder.id, PaymentOrder.provider_ref), rows))
        t = Registration.__table__
        s.connection().execute(
            update(t).where(t.c.id == bindparam("rid")).values(paid=True, paid_at=now, order_id=bindparam("oid")),
            [dict(rid=i.id, oid=got[o["provider_ref"]]) for o, items in zip(rows, loose.values()) for i in items])
    s.expire_all()

    # rooms: 3 sessions a day on the exam days the site's subjects run (inside the 考次's exam dates)
    spans = s.execute(select(func.min(SiteSubject.exam_start), func.max(SiteSubject.exam_end))
                      .where(SiteSubject.site_id == site.id, SiteSubject.term_id == term.id)).one()
    first = max(d for d in (spans[0], term.exam_start) if d is not None).date()
    last = min(d for d in (spans[1], term.exam_end) if d is not None).date()
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    total = int(s.scalar(select(func.count()).select_from(Registration).where(
        Registration.site_id == site.id, Registration.term_id == term.id)) or 0)
    per_room = DEMO_ROOM_SEATS * len(DEMO_DAY_TIMES) * len(days)
    n_rooms = max(1, -(-int(total * 1.15) // per_room) + 1) if per_room else 0
    room_ids = [ar.add_room(s, actor, site.id, f"{k:02d}", f"{site.name[:-2]}第{(k - 1) // 6 + 1}教学楼"
                            f"{(k - 1) % 6 + 1}0{k % 3 + 1}机房") for k in range(1, n_rooms + 1)]
    sessions = ar.add_sessions_bulk(s, actor, site.id, room_ids, days, list(DEMO_DAY_TIMES), DEMO_ROOM_SEATS)
    report = ar.arrange_auto(s, actor, site.id)
    tickets = ar.generate_ticket_numbers(s, actor, site.id) if not report.unplaced else None
    out = {"site": site_code, "paid_now": len(unpaid), "rooms": n_rooms, "sessions": len(sessions),
           "placed": report.placed, "unplaced": len(report.unplaced), "intent_total": report.intent_total,
           "intent_honoured": report.intent_honoured, "tickets": tickets.total if tickets else 0,
           "seconds": round(_time.perf_counter() - t0, 1)}
    log(f"演示编排（{site_code}）{site.name}：{n_rooms} 个考场、{len(sessions)} 个批次；{report.message}"
        + (tickets.message if tickets else "") + f"用时 {out['seconds']} 秒。")
    return out


# ================================================================ demo after the exam (违规, 成绩, 证书直邮, 分账)
DEMO_BANKS = (("中国工商银行北京海淀支行", "102100000458"), ("中国建设银行北京朝阳支行", "105100000017"))


def load_demo_postexam(s: Session, site_codes: tuple[str, ...] = DEMO_ARRANGED_SITES, seed: int = DEMO_SEED,
                       log=print) -> dict:
    """The arranged demo sites after the exam, entered as their administrators would (the services and the
    import engine, not raw rows): about 2 % of the 报考 get a 违规 (缺考 most, then 违纪/作弊 with their
    finer codes), then the site's score CSV (GBK, the NCRE format; 违规标记 as the 违规 table says) is imported
    with every check on, 证书直邮 addresses for a few passed candidates, and a 分账账户 (the first site also
    one in the previous 考次, so "获取上个考次数据" has something to copy). The demo's 考次 lies in the future:
    its scores are seed data to show the post-exam pages, not a real result."""
    import csv
    import io

    from core.auth import actor_for
    from core.imports.specs_scores import import_cert_mailing_file, import_score_file
    from core.models import Enrollment, Registration, Score, SettlementAccount
    from core.services import accounts, scores, violations

    t0 = _time.perf_counter()
    rnd = random.Random(seed + 38)
    term = s.scalar(select(ExamTerm).where(ExamTerm.is_current.is_(True)))
    past = s.scalar(select(ExamTerm).where(ExamTerm.is_current.is_(False)).order_by(ExamTerm.exam_start.desc()))
    codes = ["01"] * 6 + ["11", "12", "21", "22", "23", "25", "99"]
    out = {}
    for n, code in enumerate(site_codes):
        site = s.scalar(select(Org).where(Org.code == code, Org.kind == "site"))
        admin = s.scalar(select(User).where(User.org_id == site.id, User.role == "site_admin").order_by(User.id))
        actor = actor_for(s, admin, term.id)
        tickets = list(s.scalars(select(Registration.ticket_no).where(
            Registration.site_id == site.id, Registration.term_id == term.id, Registration.ticket_no.is_not(None))
            .order_by(Registration.ticket_no)))
        if not tickets:
            continue
        picked = rnd.sample(tickets, max(1, len(tickets) // 50))
        for t in picked:
            violations.add_violation(s, actor, site.id, t, rnd.choice(codes), "考场记录" if rnd.random() < .3 else None)
        data = scores.demo_score_csv(s, term.id, site.id, seed=seed + n)
        res = import_score_file(s, actor, data, f"{code}_成绩.csv", site.id, dry_run=False)
        if not res.committed:
            raise ValueError(f"演示成绩导入失败（{code}）：{res.message} {[e.text for e in res.errors[:3]]}")
        passed = s.execute(select(Registration.ticket_no, Enrollment.name, Enrollment.phone, Enrollment.address)
                           .join(Enrollment, Enrollment.id == Registration.enrollment_id)
                           .join(Score, Score.registration_id == Registration.id)
                           .where(Registration.site_id == site.id, Registration.term_id == term.id,
                                  Score.score >= 60, Score.flag == "").order_by(Registration.ticket_no)).all()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(["准考证号", "姓名", "收件人", "联系电话", "邮寄地址", "邮政编码"])
        for i, p in enumerate(passed[::25]):
            w.writerow([p.ticket_no, p.name, p.name, p.phone or f"1391000{i:04d}",
                        p.address or f"{site.name[:-2]}学生宿舍{i % 12 + 1}号楼", site.postcode or "100081"])
        mail = import_cert_mailing_file(s, actor, buf.getvalue().encode("gbk"), f"{code}_证书直邮.csv", site.id,
                                        dry_run=False)
        bank, bank_code = DEMO_BANKS[n % len(DEMO_BANKS)]
        account = {"bank_name": bank, "bank_code": bank_code, "account_name": f"{site.name[:-2]}",
                   "account_no": f"0200{site.code}{n:02d}019{seed % 10000:04d}", "account_type": "考点收费账户",
                   "remark": "演示数据"}
        if n == 0 and past is not None:  # the previous 考次's account (history is read-only in the services)
            s.add(SettlementAccount(term_id=past.id, site_id=site.id, **account))
        else:
            accounts.add_account(s, actor, site.id, account)
        out[code] = {"violations": len(picked), "scores": res.written, "mailing": mail.written}
    s.flush()
    log("演示考后数据：" + "；".join(f"{c} 违规 {v['violations']} 条、成绩 {v['scores']} 条、证书直邮 {v['mailing']} 条"
                                  for c, v in out.items()) + f"；用时 {_time.perf_counter() - t0:.1f} 秒。")
    return out
