"""成绩管理 (001 §40–44): the score list, the score downloads, the score statistics and the demo file.

- §40/§41 imports live on THE import engine: core.imports.specs_scores (the score CSV, 证书直邮信息).
- §42 成绩信息管理: `score_list_spec(site_id)` — a declared list (core.admin.EntitySpec) of one site's
  scores in the viewed 考次: 准考证号, 姓名, masked 证件号码, 科目, 成绩, 等级, 违规标记, 证书编号; filters
  准考证号 / 姓名 / 科目 / 等级. The site sees its own; upper levels pick a site in their scope.
- §43 成绩信息下载: builders for core.services.generated (kinds "scores_dbf", "scores_csv"; downloads
  inside the 考后资料下载时间, §9). Only a site with imported scores can generate (`download_blocker`).
    DBF: a ZIP holding `<考点代码>.DBF` (dBase III, GBK, fields SCORE_DBF_FIELDS), like the 机考数据 (§47):
         the ZIP keeps the file name that identifies the site and compresses the fixed-width records ~10×.
    CSV: GBK (opens directly in Excel / WPS on Chinese Windows), formula-safe (core.exports.tabular).
  `export_scores` is the same file for the command line (own site, window checked, audited).
- §44 成绩统计: `score_stats(s, actor, by="site"|"subject")` -> reg_stats.StatTable: 人次, 优秀 (90–100),
  良好 (80–89), 及格 (60–79), 不及格 (0–59), 缺考, 违纪, 作弊, 其他违规, 合计 row; a row with a 违规标记
  counts in that column, otherwise in its score band. Not limited by operation windows (§44.2);
  `export_score_stats` writes it to Excel and audits it.
- `demo_score_csv`: a plausible score CSV for every numbered 报考 of a site (demo, tests, benchmark).
"""
from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from core.admin import Column, EntitySpec, Filter
from core.auth import ADMIN_ROLES, Actor, get_scoped_org, in_scope
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.exports.dbf import Field, write_dbf
from core.exports.tabular import write_csv, write_xlsx
from core.models import Candidate, Enrollment, Org, Registration, Subject
from core.models.postexam import PASS_SCORE, SCORE_BANDS, VIOLATION_KINDS, Score, Violation
from core.services import reg_stats as rs
from core.services.base import audit, require_window
from core.services.generated import Built, Progress

# 等级: the four score bands, then the four violation categories (the §44 columns, in order)
BANDS: tuple[str, ...] = tuple(b[0] for b in SCORE_BANDS)
LEVELS: tuple[str, ...] = BANDS + VIOLATION_KINDS
# the general code of each violation category (core.models.postexam.VIOLATION_CODES)
GENERAL_CODES: dict[str, str] = {"缺考": "01", "违纪": "11", "作弊": "21", "其他违规": "99"}
NO_SCORES = "本考点本考次尚未导入成绩信息，不能生成和下载成绩信息；请先在《成绩信息导入》中导入成绩。"
WINDOW = "post_exam_download"


def level_of(score: int | None, flag: str | None) -> str:
    """The 等级 of one score row: its 违规标记 when flagged, else the band of the score ('' when neither)."""
    if flag:
        return flag
    if score is None:
        return ""
    for label, lo, hi in SCORE_BANDS:
        if lo <= score <= hi:
            return label
    return ""


def level_expr():
    """等级 as SQL (same rule as `level_of`)."""
    whens = [(Score.flag != "", Score.flag)]
    whens += [(and_(Score.score >= lo, Score.score <= hi), label) for label, lo, hi in SCORE_BANDS]
    return case(*whens, else_="")


def level_clause(value: Any):
    """The SQL condition of the 等级 filter (one level or several)."""
    values = list(value) if isinstance(value, (list, tuple, set)) else [value]
    conds = []
    for v in values:
        if v in VIOLATION_KINDS:
            conds.append(Score.flag == v)
        else:
            band = next((b for b in SCORE_BANDS if b[0] == v), None)
            if band is None:
                raise ValidationError(f"未知的等级：{v}")
            conds.append(and_(Score.flag == "", Score.score >= band[1], Score.score <= band[2]))
    return or_(*conds) if conds else None


# ---------------------------------------------------------------- §42 成绩信息管理
def _subject_choices(s: Session, actor: Actor) -> dict[int, str]:
    return {x.id: rs.subject_label(x.code, x.name) for x in s.scalars(select(Subject).order_by(Subject.code))}


def _ticket_clause(v: str):
    return Score.ticket_no.contains(v.strip(), autoescape=True)


@lru_cache(maxsize=256)
def score_list_spec(site_id: int) -> EntitySpec:
    """The 成绩信息管理 list of one site (scoped: a site outside the actor's scope lists nothing).
    View only: downloads are in 成绩信息下载 (§43, 考后资料下载时间)."""

    def base(actor: Actor):
        q = (select(Score).join(Registration, Registration.id == Score.registration_id)
             .join(Candidate, Candidate.id == Registration.candidate_id)
             .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
             .join(Subject, Subject.id == Score.subject_id))
        if actor.term_id is None:
            return q.where(false())
        return q.where(Score.term_id == actor.term_id, Score.site_id == site_id)

    return EntitySpec(
        name="ncre_scores",
        title="成绩信息管理",
        description="本考点考生的成绩信息（成绩信息导入后可查看）。证件号码已脱敏；成绩文件请在《成绩信息下载》中生成和下载。"
                    "等级：优秀 90–100、良好 80–89、及格 60–79、不及格 0–59；有违规标记的按违规类型。",
        model=Score,
        org_column=Score.site_id,
        base_query=base,
        columns=(
            Column("ticket_no", "准考证号", width="medium"),
            Column("name", "姓名", expr=func.coalesce(Enrollment.name, Candidate.name)),
            Column("id_number", "证件号码", expr=func.coalesce(Enrollment.id_number, Candidate.id_number), mask="id"),
            Column("subject", "科目", expr="(" + Subject.code + ") " + Subject.name, width="medium"),
            Column("score", "成绩", width="small"),
            Column("level", "等级", expr=level_expr(), width="small"),
            Column("flag", "违规标记", width="small"),
            Column("cert_no", "证书编号"),
            Column("imported_at", "导入时间", fmt="%Y-%m-%d %H:%M:%S"),
        ),
        filters=(
            Filter("ticket_no", "准考证号", "text", clause=_ticket_clause),
            Filter("name", "姓名", "text", expr=func.coalesce(Enrollment.name, Candidate.name)),
            Filter("subject_id", "科目", "choice", choices=_subject_choices),
            Filter("level", "等级", "choice", choices={v: v for v in LEVELS}, clause=level_clause),
        ),
        search=("ticket_no", "name"),
        default_sort=("ticket_no", False),
        roles=ADMIN_ROLES,
        export_roles=(),
    )


def site_scores_info(s: Session, actor: Actor, site_id: int) -> dict[str, Any]:
    """{"label", "count", "imported_at"} of a site in scope in the viewed 考次."""
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    n, last = s.execute(select(func.count(), func.max(Score.imported_at)).where(
        Score.term_id == actor.term_id, Score.site_id == site.id)).one()
    return {"label": f"({site.code}){site.name}", "count": int(n or 0), "imported_at": last}


def download_blocker(s: Session, actor: Actor, site_id: int) -> str | None:
    """Why the site cannot generate its score files now (None: it can) — §43.2: scores imported first."""
    return None if site_scores_info(s, actor, site_id)["count"] else NO_SCORES


# ---------------------------------------------------------------- §43 成绩信息下载
SCORE_DBF_FIELDS = [
    Field("ZKZH", "C", 30),   # 准考证号
    Field("XM", "C", 50),     # 姓名 (25 Chinese characters)
    Field("ZJLX", "C", 20),   # 证件类型
    Field("ZJHM", "C", 40),   # 证件号码
    Field("KMDM", "C", 10),   # 科目代码
    Field("KMMC", "C", 60),   # 科目名称
    Field("CJ", "N", 3),      # 成绩 (blank when none)
    Field("DJ", "C", 8),      # 等级
    Field("WJBJ", "C", 8),    # 违规标记
    Field("ZSBH", "C", 30),   # 证书编号
    Field("KDDM", "C", 10),   # 考点代码
    Field("KDMC", "C", 100),  # 考点名称
]
SCORE_LABELS = {"ZKZH": "准考证号", "XM": "姓名", "ZJLX": "证件类型", "ZJHM": "证件号码", "KMDM": "科目代码",
                "KMMC": "科目名称", "CJ": "成绩", "DJ": "等级", "WJBJ": "违规标记", "ZSBH": "证书编号",
                "KDDM": "考点代码", "KDMC": "考点名称"}
SCORE_CSV_HEADER = [SCORE_LABELS[f.name] for f in SCORE_DBF_FIELDS]


def score_rows(s: Session, term_id: int, site: Org) -> Iterator[tuple]:
    """The site's score records in 准考证号 order, in SCORE_DBF_FIELDS order (streamed)."""
    q = (select(Score.ticket_no, func.coalesce(Enrollment.name, Candidate.name),
                func.coalesce(Enrollment.id_type, Candidate.id_type),
                func.coalesce(Enrollment.id_number, Candidate.id_number), Subject.code, Subject.name,
                Score.score, Score.flag, Score.cert_no)
         .join(Registration, Registration.id == Score.registration_id)
         .join(Candidate, Candidate.id == Registration.candidate_id)
         .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
         .join(Subject, Subject.id == Score.subject_id)
         .where(Score.term_id == term_id, Score.site_id == site.id)
         .order_by(Score.ticket_no, Score.id))
    code, name = site.code, site.name
    for t, xm, zjlx, zjhm, kmdm, kmmc, cj, flag, cert in s.execute(q.execution_options(yield_per=20_000)):
        yield (t, xm, zjlx, zjhm, kmdm, kmmc, cj, level_of(cj, flag), flag or "", cert or "", code, name)


def _count(s: Session, term_id: int, site_id: int) -> int:
    return int(s.scalar(select(func.count()).select_from(Score).where(Score.term_id == term_id,
                                                                        Score.site_id == site_id)) or 0)


def build_scores_dbf(s: Session, actor: Actor, site: Org, options: Mapping[str, Any], progress: Progress) -> Built:
    """ZIP with `<考点代码>.DBF` (dBase III, GBK, SCORE_DBF_FIELDS): one record per imported score."""
    n = _count(s, actor.term_id, site.id)
    if not n:
        raise DomainError(NO_SCORES)
    progress(0.1, f"共 {n} 条成绩，正在写入 DBF…")
    dbf = write_dbf(SCORE_DBF_FIELDS, score_rows(s, actor.term_id, site), "gbk")
    progress(0.8, "正在压缩…")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr(zipfile.ZipInfo(f"{site.code}.DBF", datetime.now().timetuple()[:6]), dbf, zipfile.ZIP_DEFLATED)
    progress(1.0, f"完成：{n} 条成绩")
    return Built(buf.getvalue(), f"{site.code}_成绩信息.zip", n)


def build_scores_csv(s: Session, actor: Actor, site: Org, options: Mapping[str, Any], progress: Progress) -> Built:
    """`<考点代码>_成绩信息.csv` in GBK (Excel-friendly), formula-safe; header SCORE_CSV_HEADER."""
    n = _count(s, actor.term_id, site.id)
    if not n:
        raise DomainError(NO_SCORES)
    progress(0.1, f"共 {n} 条成绩，正在写入 CSV…")
    data = write_csv(SCORE_CSV_HEADER, score_rows(s, actor.term_id, site), encoding="gbk")
    progress(1.0, f"完成：{n} 条成绩")
    return Built(data, f"{site.code}_成绩信息.csv", n)


BUILDERS = {"dbf": ("scores_dbf", build_scores_dbf), "csv": ("scores_csv", build_scores_csv)}


def export_scores(s: Session, actor: Actor, site_id: int, fmt: str = "dbf") -> tuple[bytes, str]:
    """The site's score file built now (the CLI's `export scores`): only the site's own 考点管理员, inside its
    考后资料下载时间 (in the current 考次), with imported scores. Audited. Returns (bytes, file name)."""
    if fmt not in BUILDERS:
        raise ValidationError(f"未知的格式：{fmt}（只支持 dbf、csv）", "格式")
    site = get_scoped_org(s, actor, site_id)
    if site.kind != "site":
        raise NotFound("请选择考点。")
    if actor.role != "site_admin" or actor.org_id != site.id:
        raise PermissionDenied("成绩信息由考点管理员在本考点生成和下载，上级机构只能查看。")
    if actor.term_is_current:
        require_window(s, actor, WINDOW)
    kind, build = BUILDERS[fmt]
    built = build(s, actor, site, {}, lambda _f, _t: None)
    audit(s, actor, "export", "成绩信息", site.id, org_id=site.id,
          summary=f"导出成绩信息（{fmt.upper()}）：{built.filename}（{built.rows} 条）")
    return built.data, built.filename


# ---------------------------------------------------------------- §44 成绩统计
STAT_COLUMNS: tuple[str, ...] = ("人次",) + LEVELS
STAT_TITLES = {"site": "成绩统计（按考点）", "subject": "成绩统计（按科目）"}
STAT_NOTE = ("成绩统计不受考点操作时间限制；数据为点击“刷新”时的实时数据。有违规标记的成绩计入对应违规列，"
             "其余按分数计入优秀（90–100）、良好（80–89）、及格（60–79）、不及格（0–59）。")


def _level_sums(group_col):
    """SELECT group, 人次, then one conditional count per level (LEVELS order)."""
    sums = []
    for label, lo, hi in SCORE_BANDS:
        sums.append(rs.count_if(and_(Score.flag == "", Score.score >= lo, Score.score <= hi)))
    for kind in VIOLATION_KINDS:
        sums.append(rs.count_if(Score.flag == kind))
    return select(group_col, func.count(), *sums)


def score_stats(s: Session, actor: Actor, by: str = "site") -> rs.StatTable:
    """成绩统计 of the viewed 考次 over the actor's scope: one row per site (every site of the scope that is
    enabled in the 考次 or holds its data) or per subject with scores, then 合计."""
    if by not in STAT_TITLES:
        raise ValidationError(f"未知的统计方式：{by}")
    term = rs.stats_term(s, actor)
    tid = term.id
    group_col = Score.site_id if by == "site" else Score.subject_id
    agg = {r[0]: tuple(int(x) for x in r[1:]) for r in s.execute(
        _level_sums(group_col).where(Score.term_id == tid, in_scope(actor, Score.site_id)).group_by(group_col))}
    if by == "site":
        items = rs.scope_sites(s, actor, tid)
        known = {sid for sid, _ in items}
        extra = [k for k in agg if k not in known]  # a site with scores but no longer enabled
        if extra:
            items += [(o.id, f"({o.code}){o.name}") for o in s.scalars(
                select(Org).where(Org.id.in_(extra)).order_by(Org.code))]
        first = rs.SITE_COL
    else:
        items = rs.subject_items(s, agg)
        first = rs.SUBJECT_COL
    zero = (0,) * len(STAT_COLUMNS)
    columns = (first,) + STAT_COLUMNS
    rows = [(label, *agg.get(key, zero)) for key, label in items]
    keys: list[Any] = [key for key, _ in items]
    rows.append(rs.total_row(rows, len(columns)))
    keys.append(None)
    if len(items) > rs.MAX_CHART_SERIES or not items:
        total = dict(zip(columns, rows[-1]))
        chart = tuple({"x": rs.TOTAL_LABEL, "series": lv, "value": total[lv]} for lv in LEVELS)
    else:
        chart = tuple({"x": label, "series": lv, "value": agg.get(key, zero)[1 + i]}
                      for key, label in items for i, lv in enumerate(LEVELS))
    return rs.StatTable(f"score_{by}", STAT_TITLES[by], tid, term.name, columns, tuple(rows), tuple(keys), chart,
                        chart_x=first, chart_y="人次")


def export_score_stats(s: Session, actor: Actor, by: str = "site") -> tuple[bytes, str]:
    """The statistics table as Excel (text never a formula), recorded in the audit log."""
    table = score_stats(s, actor, by)
    data = write_xlsx(list(table.columns), table.rows, sheet_name=table.title)
    audit(s, actor, "export", "成绩统计", None,
          summary=f"导出{table.title}（{table.term_name}）：{len(table.body)} 行 + 合计",
          after={"term_id": table.term_id, "rows": len(table.body), "by": by})
    return data, f"{table.title}_{datetime.now():%Y%m%d_%H%M%S}.xlsx"


# ---------------------------------------------------------------- the score file (template, demo)
SCORE_FILE_HEADER = ["准考证号", "姓名", "证件号码", "科目代码", "成绩", "违规标记", "证书编号"]


def score_csv_template(encoding: str = "gbk") -> bytes:
    """The score CSV's header and two example rows (a pass with its certificate number, an absence)."""
    rows = [["1470110001010101", "张三", "11010120000101005X", "14", "86", "", "2614110001000001"],
            ["1470110001010102", "李四", "110101200001020068", "14", "", "缺考", ""]]
    return write_csv(SCORE_FILE_HEADER, rows, encoding=encoding)


def demo_score_rows(s: Session, term_id: int, site_id: int, seed: int = 70, invent_flags: bool = False
                    ) -> list[list[str]]:
    """A plausible score row for every numbered 报考 of the site (SCORE_FILE_HEADER order): the 违规标记
    follows the site's Violation table (so an import with 校验违规不一致 passes); with `invent_flags`, ~4 % of
    the unflagged 报考 are marked 缺考 and ~1 % 违纪/作弊/其他违规 (import those with check_violation=False: the
    flags then go into the Violation table). Scores are roughly normal around 70; passes get a 证书编号."""
    rnd = random.Random(seed * 1_000_003 + site_id)
    viol = dict(s.execute(select(Violation.registration_id, Violation.kind).where(
        Violation.term_id == term_id, Violation.site_id == site_id)).all())
    q = (select(Registration.id, Registration.ticket_no, func.coalesce(Enrollment.name, Candidate.name),
                func.coalesce(Enrollment.id_number, Candidate.id_number), Subject.code)
         .join(Candidate, Candidate.id == Registration.candidate_id)
         .outerjoin(Enrollment, Enrollment.id == Registration.enrollment_id)
         .join(Subject, Subject.id == Registration.subject_id)
         .where(Registration.term_id == term_id, Registration.site_id == site_id,
                Registration.ticket_no.is_not(None))
         .order_by(Registration.ticket_no))
    out = []
    serial = 0
    for rid, ticket, name, idn, code in s.execute(q):
        flag = viol.get(rid, "")
        if invent_flags and not flag:
            x = rnd.random()
            flag = "缺考" if x < 0.04 else (rnd.choice(VIOLATION_KINDS[1:]) if x < 0.05 else "")
        score: int | None = None
        if flag != "缺考":
            score = 0 if flag == "作弊" else max(0, min(100, int(rnd.gauss(70, 15))))
        cert = ""
        if not flag and score is not None and score >= PASS_SCORE:
            serial += 1
            cert = f"{code:0>2}{ticket[2:4] if len(ticket) > 4 else '00'}{serial:012d}"[:30]
        out.append([ticket, name, idn, code, "" if score is None else str(score), flag, cert])
    return out


def demo_score_csv(s: Session, term_id: int, site_id: int, seed: int = 70, encoding: str = "gbk",
                   invent_flags: bool = False) -> bytes:
    """`demo_score_rows` as the score CSV the import reads (GBK by default, as the NCRE system sends it)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(SCORE_FILE_HEADER)
    w.writerows(demo_score_rows(s, term_id, site_id, seed, invent_flags))
    text = buf.getvalue()
    return (b"\xef\xbb\xbf" + text.encode("utf-8")) if encoding == "utf-8-sig" else text.encode(encoding)
