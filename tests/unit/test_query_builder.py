"""通用统计 (001 §53): the DuckDB query builder against counts computed independently in SQL on the app
database, on random data; scope; §53.5 pivot rules; the locked DuckDB connection; the cache."""
from __future__ import annotations

import io
import random
from collections import Counter
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import insert, select, text

from core.analytics import builder as qb
from core.analytics import duck
from core.db import session_scope
from core.errors import ValidationError
from core.models import (
    AuditLog, Candidate, Enrollment, ExamRoom, ExamSession, ExamTerm, Registration, Score, Subject, Violation,
)
from core.models.postexam import VIOLATION_CODES

SITES = ("110001", "110002", "440101", "440102", "440301")
CODES = ("14", "15", "24", "65", "35")


def _random_data(engine, world, seed: int = 11, n_people: int = 260) -> None:
    """People at 5 sites in 2 provinces / 3 cities, 1–3 subjects each, random gender, birth date,
    education, channel, payment, arrangement, score (or flag) and violation."""
    rnd = random.Random(seed)
    tid = world.info["current_term"]
    with session_scope(engine) as s:
        subjects = {x.code: x.id for x in s.scalars(select(Subject).where(Subject.code.in_(CODES)))}
        term = s.get(ExamTerm, tid)
        day = term.exam_start.date() if term.exam_start else date.today()
        sessions = {}
        for code in SITES:
            site_id = world.orgs[code]
            room = ExamRoom(term_id=tid, site_id=site_id, code="01", address="机房")
            s.add(room)
            s.flush()
            sessions[site_id] = []
            for k in range(2):
                sess = ExamSession(term_id=tid, site_id=site_id, room_id=room.id, seq=k + 1, capacity=999,
                                   start_at=datetime.combine(day + timedelta(days=k), datetime.min.time()) + timedelta(hours=9),
                                   end_at=datetime.combine(day + timedelta(days=k), datetime.min.time()) + timedelta(hours=11))
                s.add(sess)
                s.flush()
                sessions[site_id].append(sess.id)
        regs = []
        for i in range(n_people):
            site_id = world.orgs[rnd.choice(SITES)]
            born = date(rnd.randint(1975, 2010), rnd.randint(1, 12), rnd.randint(1, 28))
            c = Candidate(id_number=f"Q{seed:02d}{i:06d}", name=f"随机{i}")
            s.add(c)
            s.flush()
            e = Enrollment(term_id=tid, site_id=site_id, candidate_id=c.id, id_number=c.id_number, name=c.name,
                           gender=rnd.choice(("男", "女", None)), birth_date=rnd.choice((born, born, None)),
                           education=rnd.choice(("大学本科", "大学专科", None)))
            s.add(e)
            s.flush()
            for code in rnd.sample(CODES, rnd.choice((1, 1, 2, 3))):
                paid = rnd.random() < 0.7
                regs.append(dict(term_id=tid, site_id=site_id, candidate_id=c.id, enrollment_id=e.id,
                                 subject_id=subjects[code], channel=rnd.choice(("group", "individual")),
                                 fee=rnd.choice((80, 100)), paid=paid,
                                 session_id=rnd.choice(sessions[site_id]) if paid and rnd.random() < 0.8 else None))
        s.execute(insert(Registration), regs)
        rows = s.execute(select(Registration.id, Registration.site_id, Registration.subject_id)
                         .where(Registration.term_id == tid)).all()
        scores, viols = [], []
        for r in rows:
            x = rnd.random()
            if x < 0.75:
                flag = rnd.choice(("",) * 8 + ("缺考", "违纪", "作弊", "其他违规"))
                scores.append(dict(term_id=tid, site_id=r.site_id, registration_id=r.id, subject_id=r.subject_id,
                                   ticket_no=f"T{r.id}", score=None if flag == "缺考" else rnd.randint(0, 100),
                                   flag=flag))
            if rnd.random() < 0.15:
                code = rnd.choice(list(VIOLATION_CODES))
                viols.append(dict(term_id=tid, site_id=r.site_id, registration_id=r.id, subject_id=r.subject_id,
                                  ticket_no=f"T{r.id}", kind=VIOLATION_CODES[code][1], code=code))
        s.execute(insert(Score), scores)
        s.execute(insert(Violation), viols)


@pytest.fixture
def data(engine, seed):
    _random_data(engine, seed)
    return seed


def _sql(engine, sql: str, **params):
    with engine.connect() as c:
        return c.execute(text(sql), params).all()


def _site_labels(engine) -> dict[str, str]:
    return {code: f"({code}){name}" for code, name in _sql(engine, "SELECT code, name FROM org WHERE kind = 'site'")}


def _subject_labels(engine) -> dict[str, str]:
    return {code: f"({code}) {name}" for code, name in _sql(engine, "SELECT code, name FROM subject")}


def _run(engine, world, username, spec):
    with session_scope(engine) as s:
        return qb.run(s, world.actor(username), spec, use_cache=False)


def _cells(res, dims, ind) -> dict[tuple, int]:
    return {tuple(row[qb.DIMENSIONS[d].label] for d in dims): int(row[ind]) for _, row in res.long.iterrows()}


def test_site_subject_counts_and_score_indicators_equal_sql(engine, data):
    spec = qb.make_spec(("site", "subject"), ["reg_count", {"key": "score_ge", "x": 60},
                                              {"key": "score_range", "x": 80, "y": 90}, "paid_count", "violations"])
    res = _run(engine, data, "center", spec)
    sl, bl = _site_labels(engine), _subject_labels(engine)
    want = _sql(engine, """
        SELECT o.code, sj.code, count(*),
               sum(CASE WHEN sc.score >= 60 THEN 1 ELSE 0 END),
               sum(CASE WHEN sc.score >= 80 AND sc.score < 90 THEN 1 ELSE 0 END),
               sum(CASE WHEN r.paid THEN 1 ELSE 0 END),
               count(v.id)
        FROM registration r JOIN org o ON o.id = r.site_id JOIN subject sj ON sj.id = r.subject_id
        LEFT JOIN score sc ON sc.registration_id = r.id LEFT JOIN violation v ON v.registration_id = r.id
        WHERE r.term_id = :t GROUP BY o.code, sj.code""", t=data.info["current_term"])
    assert len(want) > 10
    labels = [i.label for i in spec.indicators]
    assert labels == ["报考人次", "成绩≥60人次", "成绩[80,90)人次", "已缴费人次", "违规人次"]
    got = {(row["考点"], row["科目"]): tuple(int(row[x]) for x in labels) for _, row in res.long.iterrows()}
    assert got == {(sl[a], bl[b]): tuple(int(v or 0) for v in rest) for a, b, *rest in want}
    assert res.queries == 3  # registration, score and violation each aggregated on its own table
    total = res.table.iloc[-1]
    assert total["考点"] == qb.TOTAL and int(total["报考人次"]) == sum(w[2] for w in want)


def test_joined_dimensions_equal_sql(engine, data):
    t = data.info["current_term"]
    spec = qb.make_spec(("city", "gender", "score_band"), ["reg_count", "candidates"])
    res = _run(engine, data, "center", spec)
    assert res.queries == 1
    want = _sql(engine, """
        SELECT c.code, c.name, coalesce(nullif(e.gender, ''), '未填写'),
               CASE WHEN sc.id IS NULL OR (sc.score IS NULL AND coalesce(sc.flag, '') = '') THEN '无成绩'
                    WHEN coalesce(sc.flag, '') <> '' THEN sc.flag
                    WHEN sc.score >= 90 THEN '优秀' WHEN sc.score >= 80 THEN '良好'
                    WHEN sc.score >= 60 THEN '及格' ELSE '不及格' END AS band,
               count(*), count(DISTINCT r.candidate_id)
        FROM registration r JOIN org o ON o.id = r.site_id JOIN org c ON c.id = o.parent_id
        JOIN enrollment e ON e.id = r.enrollment_id LEFT JOIN score sc ON sc.registration_id = r.id
        WHERE r.term_id = :t GROUP BY c.code, c.name, 3, 4""", t=t)
    got = {k: v for k, v in _cells(res, spec.dims, "报考人次").items()}
    assert got == {(f"({a}){b}", g, band): n for a, b, g, band, n, _ in want}
    assert _cells(res, spec.dims, "考生人数") == {(f"({a}){b}", g, band): m for a, b, g, band, _, m in want}
    # the 合计 of a distinct count is a distinct count over everything, not a sum of the rows
    total = _sql(engine, "SELECT count(DISTINCT candidate_id) FROM registration WHERE term_id = :t", t=t)[0][0]
    assert int(res.table.iloc[-1]["考生人数"]) == total


def test_age_channel_arrangement_exam_date_violation_equal_python(engine, data):
    t = data.info["current_term"]
    with session_scope(engine) as s:
        term = s.get(ExamTerm, t)
        ref = term.exam_start.date()
        rows = s.execute(select(Registration.channel, Registration.paid, Registration.session_id, Enrollment.birth_date,
                                ExamSession.start_at, Violation.kind)
                         .join(Enrollment, Enrollment.id == Registration.enrollment_id)
                         .outerjoin(ExamSession, ExamSession.id == Registration.session_id)
                         .outerjoin(Violation, Violation.registration_id == Registration.id)
                         .where(Registration.term_id == t)).all()

    def age(b):
        return ref.year - b.year - ((ref.month, ref.day) < (b.month, b.day))

    def band(b):
        if b is None:
            return "未知"
        a = age(b)
        return ("18岁以下" if a < 18 else "18–22岁" if a <= 22 else "23–30岁" if a <= 30 else "31–40岁" if a <= 40
                else "41岁及以上")

    spec = qb.make_spec(("age_band", "channel", "exam_date", "violation"), ["reg_count", {"key": "age_ge", "x": 30}])
    res = _run(engine, data, "center", spec)
    want = Counter((band(b), "考生个人报名" if ch == "individual" else "集体报名",
                    start.strftime("%Y-%m-%d") if start else "未编排", kind or "无违规")
                   for ch, paid, sid, b, start, kind in rows)
    assert _cells(res, spec.dims, "报考人次") == dict(want)
    want30 = Counter((band(b), "考生个人报名" if ch == "individual" else "集体报名",
                      start.strftime("%Y-%m-%d") if start else "未编排", kind or "无违规")
                     for ch, paid, sid, b, start, kind in rows if b is not None and age(b) >= 30)
    got30 = {k: v for k, v in _cells(res, spec.dims, "年龄≥30人次").items() if v}
    assert got30 == dict(want30)
    arranged = qb.make_spec(("arranged", "paid"), ["reg_count"])
    res = _run(engine, data, "center", arranged)
    assert _cells(res, arranged.dims, "报考人次") == dict(Counter(
        ("已编排" if sid else "未编排", "已缴费" if paid else "未缴费") for ch, paid, sid, b, start, kind in rows))


def test_filters_and_pivot(engine, data):
    t = data.info["current_term"]
    bl = _subject_labels(engine)
    spec = qb.make_spec(("site", "subject", "paid"), [{"key": "score_ge", "x": 60}],
                        {"subject": [bl["14"], bl["24"]], "paid": ["已缴费"]}, ("subject", "paid"))
    res = _run(engine, data, "center", spec)
    want = dict(((f"({a}){b}"), n) for a, b, n in _sql(engine, """
        SELECT o.code, o.name, sum(CASE WHEN sc.score >= 60 THEN 1 ELSE 0 END)
        FROM registration r JOIN org o ON o.id = r.site_id JOIN subject sj ON sj.id = r.subject_id
        LEFT JOIN score sc ON sc.registration_id = r.id
        WHERE r.term_id = :t AND sj.code = '14' AND r.paid GROUP BY o.code, o.name""", t=t))
    col = f"{bl['14']} · 已缴费"
    body = res.table[res.table["考点"] != qb.TOTAL]
    assert set(res.table.columns) == {"考点", col, f"{bl['24']} · 已缴费"}
    assert {r["考点"]: int(r[col]) for _, r in body.iterrows()} == {k: int(v) for k, v in want.items()}
    assert int(res.table.iloc[-1][col]) == sum(int(v) for v in want.values())
    # several indicators with one pivoted column
    spec2 = qb.make_spec(("site", "paid"), ["reg_count", "paid_count"], pivot=("paid",))
    res2 = _run(engine, data, "center", spec2)
    assert list(res2.table.columns) == ["考点", "已缴费 · 报考人次", "已缴费 · 已缴费人次", "未缴费 · 报考人次",
                                        "未缴费 · 已缴费人次"]
    assert (res2.table["未缴费 · 已缴费人次"] == 0).all()
    assert (res2.table["已缴费 · 报考人次"] == res2.table["已缴费 · 已缴费人次"]).all()


def test_pivot_rules_and_validation():
    with pytest.raises(ValidationError, match="行转列指标最多选 2 个"):
        qb.make_spec(("site", "subject", "gender"), ["reg_count"], pivot=("site", "subject", "gender"))
    with pytest.raises(ValidationError, match="只能选 1 个"):
        qb.make_spec(("site", "subject", "gender"), ["reg_count", "candidates"], pivot=("subject", "gender"))
    with pytest.raises(ValidationError, match="必须是已选的数据列"):
        qb.make_spec(("site",), ["reg_count"], pivot=("subject",))
    with pytest.raises(ValidationError, match="x 必须小于 y"):
        qb.make_spec(("site",), [{"key": "score_range", "x": 80, "y": 60}])
    with pytest.raises(ValidationError, match="0–200"):
        qb.make_spec(("site",), [{"key": "score_ge", "x": 900}])
    with pytest.raises(ValidationError, match="必须是整数"):
        qb.make_spec(("site",), [{"key": "score_ge", "x": "六十"}])
    with pytest.raises(ValidationError, match="未知的数据列"):
        qb.make_spec(("site; DROP TABLE registration",), ["reg_count"])
    with pytest.raises(ValidationError, match="未知的指标列"):
        qb.make_spec(("site",), ["count(*)"])
    with pytest.raises(ValidationError, match="未知的常用统计"):
        qb.spec_from_json({"preset": "随便"})
    assert qb.spec_from_json({"preset": "常用报考统计"}) == qb.PRESETS["常用报考统计"]
    spec = qb.make_spec(("site", "subject"), [{"key": "score_ge", "x": 75}], {"paid": ["已缴费"]}, ("subject",))
    assert qb.spec_from_json(spec.to_json()) == spec
    # filter values are bound parameters, never SQL
    sql = qb.plan(qb.make_spec(("site",), ["reg_count"], {"gender": ["男' OR 1=1 --"]}))[0][2]
    assert "OR 1=1" not in sql and "$f0" in sql


def test_presets_run(engine, data):
    for name, spec in qb.PRESETS.items():
        res = _run(engine, data, "center", spec)
        assert not res.table.empty, name
        assert res.table.iloc[-1].iloc[0] == qb.TOTAL
    arr = _run(engine, data, "center", qb.PRESETS["常用编排统计"])
    t = data.info["current_term"]
    n_arranged = _sql(engine, "SELECT count(*) FROM registration WHERE term_id = :t AND session_id IS NOT NULL", t=t)
    assert int(arr.table.iloc[-1]["已编排"]) == n_arranged[0][0]


def test_city_admin_sees_only_its_city(engine, data):
    t = data.info["current_term"]
    sl = _site_labels(engine)
    for spec in (qb.make_spec(("site",), ["reg_count"]), qb.make_spec(("province", "city", "site"), ["reg_count"]),
                 qb.PRESETS["常用其他统计"]):
        res = _run(engine, data, "city4401", spec)
        sites = set(res.long["考点"])
        assert sites <= {sl["440101"], sl["440102"], sl["440103"]}, sites
        assert sites & {sl["440101"], sl["440102"]}
    res = _run(engine, data, "city4401", qb.make_spec((), ["reg_count"]))
    want = _sql(engine, """SELECT count(*) FROM registration r JOIN org o ON o.id = r.site_id
                           WHERE r.term_id = :t AND o.code LIKE '4401%'""", t=t)[0][0]
    assert int(res.table.iloc[0]["报考人次"]) == want
    site = _run(engine, data, "site110001", qb.make_spec(("site", "subject"), ["reg_count"]))
    assert set(site.long["考点"]) == {sl["110001"]}
    # the export of a city admin holds no other city's site
    city = data.actor("city4401")
    with session_scope(engine) as s:
        blob, name = qb.export_xlsx(s, city, qb.make_spec(("site",), ["reg_count"]))
    ws = openpyxl.load_workbook(io.BytesIO(blob)).active
    text_cells = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
    assert sl["440101"] in text_cells
    assert not any(v.startswith("(11") or v.startswith("(4403") for v in text_cells)
    assert name.endswith(".xlsx")
    with session_scope(engine) as s:
        row = s.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.entity == "general_stats"))
        assert row is not None and "数据列：考点" in row.summary


def test_filter_options_are_scoped(engine, data):
    sl = _site_labels(engine)
    city, center = data.actor("city4401"), data.actor("center")
    with session_scope(engine) as s:
        opts = qb.filter_options(s, city, "site")
        assert set(opts) == {sl["440101"], sl["440102"], sl["440103"]}
        assert qb.filter_options(s, center, "paid") == ["已缴费", "未缴费"]
        genders = qb.filter_options(s, center, "gender")
        assert set(genders) <= {"男", "女", "未填写"} and "男" in genders


def test_cache_until_the_data_changes(engine, data):
    spec = qb.make_spec(("site",), ["reg_count"])
    actor = data.actor("center")
    with session_scope(engine) as s:
        first = qb.run(s, actor, spec)
        again = qb.run(s, actor, spec)
    assert not first.cached
    if engine.dialect.name == "sqlite":  # PostgreSQL's fingerprint (the WAL position) moves with any write
        assert again.cached  # in the cluster, so a hit there depends on what else runs
    assert again.table.equals(first.table)
    with session_scope(engine) as s:  # a new 报考 at 110001
        e = s.scalar(select(Enrollment).where(Enrollment.site_id == data.orgs["110001"]))
        used = set(s.scalars(select(Registration.subject_id).where(Registration.candidate_id == e.candidate_id)))
        sid = s.scalar(select(Subject.id).where(Subject.id.not_in(used)).limit(1))
        s.add(Registration(term_id=data.info["current_term"], site_id=e.site_id, candidate_id=e.candidate_id,
                           enrollment_id=e.id, subject_id=sid))
    with session_scope(engine) as s:
        after = qb.run(s, actor, spec)
    assert not after.cached
    assert int(after.table.iloc[-1]["报考人次"]) == int(first.table.iloc[-1]["报考人次"]) + 1
    # another user's scope is another cache entry
    city_actor = data.actor("city4401")
    with session_scope(engine) as s:
        city = qb.run(s, city_actor, spec)
    assert not city.cached and int(city.table.iloc[-1]["报考人次"]) < int(after.table.iloc[-1]["报考人次"])


def test_duckdb_connection_is_locked(engine, seed):
    src = duck.source(engine)
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/kaowu_leak.csv'",
                "ATTACH '/tmp/kaowu_other.db' AS other", "INSTALL httpfs",
                "SET enable_external_access = true", "SET lock_configuration = false"):
        with pytest.raises(Exception):
            src.query(sql)
    with pytest.raises(Exception):  # read-only: no write goes through DuckDB
        src.query("DELETE FROM db.org")
    assert src.query("SELECT count(*) AS n FROM db.org")["n"][0] > 0


def test_unknown_term_and_empty_result(engine, seed):
    center = seed.actor("center")
    with session_scope(engine) as s:
        res = qb.run(s, center, qb.make_spec(("site", "subject"), ["reg_count"], pivot=("subject",)))
        assert res.long.empty
        spec = qb.make_spec((), ["reg_count", "candidates"])
        one = qb.run(s, center, spec)
        assert one.table.iloc[0]["报考人次"] == 0
