"""Demo data of the OCES 学习中心平台 (000): 院校, 学习中心, their accounts, 申请批次, students with their
统考英语 results, and a few 统考英语重考申请 in every state. Called at the end of `load_demo`: small and fast
(it runs for every test world)."""
from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.auth import actor_for
from core.models import Org, User
from core.models.oces import OcesBatch, OcesExamResult, OcesGrant, OcesStudent
from core.services import oces
from core.services.tree import add_org

INSTITUTIONS = [("U10001", "北京大学"), ("U10002", "南开大学"), ("U10003", "东北财经大学")]
CENTRES = [("C30001", "奥鹏学习中心[3]", "北京市海淀区学院路30号"),
           ("C30002", "奥鹏远程（直属）", "北京市朝阳区北辰东路8号")]
# username, role, org code, name, granted (teachers)
ACCOUNTS = [("centre01", "centre_admin", "C30001", "孙中心", False),
            ("teacher01", "centre_teacher", "C30001", "钱老师", True),
            ("teacher02", "centre_teacher", "C30001", "赵老师", False),
            ("centre02", "centre_admin", "C30002", "李中心", False),
            ("inst01", "institution_reviewer", "U10001", "周审核", False),
            ("inst02", "institution_reviewer", "U10002", "吴审核", False),
            ("inst03", "institution_reviewer", "U10003", "郑审核", False)]
MAJORS = ("金融学", "行政管理", "信息管理与信息系统", "人力资源管理", "会计学", "工商管理", "法学")
ENROL = ("1609", "1703", "1709", "1803", "1809")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋"
GIVEN = "伟芳娜敏静强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉"
ETHNIC = ("汉族",) * 9 + ("回族", "满族", "蒙古族")
STUDENTS_PER_CENTRE = 40
REJECT_REASON = "截图中批次名称不清晰，请上传统考成绩查询截图原图"


def demo_proof(text: str = "CDCE 2017-04 English B: PASS") -> bytes:
    """A small JPEG standing in for a 成绩查询截图."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 200), (250, 250, 245))
    d = ImageDraw.Draw(img)
    d.rectangle((10, 10, 470, 190), outline=(40, 90, 160), width=3)
    d.text((30, 40), "Information Management System", fill=(40, 90, 160))
    d.text((30, 90), text, fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _id_number(seq: int, born: str) -> str:
    from core.imports.engine import id_check_char

    first17 = f"110108{born}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def load_oces_demo(s: Session, center: Org, term_ids: list[int], password_hash: str,
                   accounts: list[tuple[str, str, str]] | None = None, now: datetime | None = None) -> dict:
    """Load the OCES demo under the 考试中心 (院校 and 学习中心 hang on the same tree)."""
    now = (now or datetime.now()).replace(second=0, microsecond=0)
    rnd = random.Random(2021)
    orgs: dict[str, Org] = {}
    for code, name in INSTITUTIONS:
        orgs[code] = add_org(s, center, code, name, "institution", term_ids, address=f"{name}继续教育学院")
    for code, name, addr in CENTRES:
        orgs[code] = add_org(s, center, code, name, "learning_center", term_ids, address=addr)
    users: dict[str, User] = {}
    for i, (username, role, org_code, name, granted) in enumerate(ACCOUNTS):
        u = User(username=username, passport_id=f"OCES{i:03d}{username}", name=name, role=role,
                 org_id=orgs[org_code].id, email=f"{username}@demo.kaowu.cn", phone=f"1350000{i:04d}",
                 password_hash=password_hash, must_change_password=False)
        s.add(u)
        users[username] = u
        if accounts is not None:
            accounts.append((username, role, orgs[org_code].name))
    s.flush()
    for username, *_rest, granted in ACCOUNTS:
        if granted:
            s.add(OcesGrant(user_id=users[username].id, granted_by=users["centre01"].id))

    cur = OcesBatch(code="2021A", name="2021年第一批统考英语重考申请", open_from=now - timedelta(days=10),
                    open_to=now + timedelta(days=30))
    past = OcesBatch(code="2020B", name="2020年第二批统考英语重考申请", open_from=datetime(2020, 9, 1, 8),
                     open_to=datetime(2020, 10, 31, 18))
    s.add_all([cur, past])
    s.flush()

    inst_ids = [orgs[c].id for c, _ in INSTITUTIONS]
    rows, seq = [], 0
    for code, _name, _addr in CENTRES:
        for k in range(STUDENTS_PER_CENTRE):
            seq += 1
            inst = inst_ids[k % len(inst_ids)]
            enrol = ENROL[rnd.randrange(len(ENROL))]
            year = 1975 + rnd.randrange(25)
            born = f"{year}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
            rows.append(dict(centre_id=orgs[code].id, institution_id=inst, student_no=f"12{enrol}{seq:06d}",
                             name=rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.randint(1, 2))),
                             gender=rnd.choice(("男", "女")), ethnicity=rnd.choice(ETHNIC),
                             birth=f"{born[:4]}-{born[4:6]}", id_number=_id_number(seq, born), enrol_batch=enrol,
                             status_batch=f"20{enrol[:2]}年{'春' if enrol[2:] == '03' else '秋'}季招生",
                             level="专升本" if k % 5 else "高起专", major=MAJORS[rnd.randrange(len(MAJORS))],
                             phone=f"010-6{seq:07d}", mobile=f"139{seq:08d}"))
    ids = s.execute(insert(OcesStudent).returning(OcesStudent.id, OcesStudent.student_no), rows).all()
    by_no = {no: sid for sid, no in ids}
    results = []
    for r in rows:
        fate = rnd.random()
        status = "passed" if fate < 0.7 else "exempt" if fate < 0.9 else "failed"
        y = 2000 + int(r["enrol_batch"][:2]) + 1
        results.append(dict(student_id=by_no[r["student_no"]], subject="大学英语B",
                            score=str(rnd.randint(60, 95)) if status == "passed" else
                            (str(rnd.randint(30, 59)) if status == "failed" else None),
                            status=status, pass_batch=f"{y}{rnd.choice(('04', '09', '12'))}" if status != "failed" else None))
    s.execute(insert(OcesExamResult), results)
    s.flush()

    # a few applications in every state, through the services (so history and audit are real)
    listed = s.execute(select(OcesExamResult.id, OcesExamResult.status, OcesExamResult.pass_batch,
                              OcesStudent.centre_id, OcesStudent.institution_id)
                       .join(OcesStudent, OcesStudent.id == OcesExamResult.student_id)
                       .where(OcesExamResult.status.in_(("passed", "exempt")))
                       .order_by(OcesExamResult.id)).all()
    reviewers = {orgs[code].id: users[u] for u, role, code, _n, _g in ACCOUNTS if role == "institution_reviewer"}
    proof = demo_proof()
    counts = {"applied": 0}
    for centre_user, centre_code, plan in (("centre01", "C30001", ("pending", "pending", "nofile", "approved",
                                                                   "rejected", "cancelled", "approved")),
                                           ("centre02", "C30002", ("pending", "approved", "rejected"))):
        actor = actor_for(s, users[centre_user])
        mine = [r for r in listed if r.centre_id == orgs[centre_code].id][:len(plan)]
        for r, fate in zip(mine, plan):
            got = oces.reexam_apply(s, actor, cur.id, r.id, r.status, r.pass_batch,
                                    None if fate == "nofile" else proof, "成绩查询截图.jpg", now=now)
            counts["applied"] += 1
            reviewer = actor_for(s, reviewers[r.institution_id])
            if fate == "approved":
                oces.reexam_review(s, reviewer, [got.app_id], "approve")
            elif fate == "rejected":
                oces.reexam_review(s, reviewer, [got.app_id], "reject", REJECT_REASON)
            elif fate == "cancelled":
                oces.reexam_cancel(s, actor, got.app_id, now=now)
    s.flush()
    return {"institutions": len(INSTITUTIONS), "centres": len(CENTRES), "students": len(rows),
            "batch_id": cur.id, "past_batch_id": past.id, **counts}
