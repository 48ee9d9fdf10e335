"""The menu tree: section -> pages (title, file, roles). Sections are the manuals' first-level menus.
Checked at start-up (Home.py) and in a test. No streamlit here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.auth import ADMIN_ROLES, OCES_ROLES

ROOT = Path(__file__).resolve().parent.parent
ALL_ADMINS = ADMIN_ROLES


@dataclass(frozen=True)
class PageDef:
    section: str
    title: str
    file: str  # relative to the project root
    roles: tuple[str, ...]
    ref: str = ""  # manual chapter
    icon: str = ":material/article:"

    @property
    def url_path(self) -> str:
        return Path(self.file).stem


MENU: list[PageDef] = [
    PageDef("首页", "首页", "pages/home.py", ALL_ADMINS + OCES_ROLES, "001 §6", ":material/home:"),
    PageDef("首页", "修改密码", "pages/account.py", ALL_ADMINS + OCES_ROLES, "", ":material/key:"),
    PageDef("基本信息设置", "用户与机构管理", "pages/ncre/a07_users_orgs.py", ALL_ADMINS, "001 §7–8", ":material/group:"),
    PageDef("操作时间设置", "考点操作时间设置", "pages/ncre/a09_windows.py", ALL_ADMINS, "001 §9", ":material/schedule:"),
    PageDef("报名前设置", "考点报名综合设置", "pages/ncre/a10_site_general.py", ALL_ADMINS, "001 §10", ":material/tune:"),
    PageDef("报名前设置", "考点开考科目设置", "pages/ncre/a11_site_subjects.py", ALL_ADMINS, "001 §11", ":material/menu_book:"),
    PageDef("报名前设置", "考点费用设置", "pages/ncre/a12_site_fees.py", ALL_ADMINS, "001 §12", ":material/payments:"),
    PageDef("报名前设置", "考点容量设置", "pages/ncre/a13_site_capacity.py", ALL_ADMINS, "001 §13", ":material/event_seat:"),
    PageDef("报名前设置", "意向考试相关设置", "pages/ncre/a14_intent.py", ALL_ADMINS, "001 §14", ":material/event:"),
    PageDef("报名前设置", "考生报名时间设置", "pages/ncre/a15_online_reg.py", ALL_ADMINS, "001 §15", ":material/timer:"),
    PageDef("报名前设置", "省报名通告设置", "pages/ncre/a16_province_notice.py", ALL_ADMINS, "001 §16", ":material/campaign:"),
    PageDef("报名前设置", "考点报名通告设置", "pages/ncre/a17_site_notice.py", ALL_ADMINS, "001 §17", ":material/campaign:"),
    PageDef("报名前设置", "考点班级选项设置", "pages/ncre/a18_class_options.py", ALL_ADMINS, "001 §18", ":material/list:"),
    PageDef("报名前设置", "学籍报考设置", "pages/ncre/a19_registry_setting.py", ALL_ADMINS, "001 §19", ":material/school:"),
    PageDef("学籍库管理", "学籍数据导入", "pages/ncre/a20_registry_import.py", ALL_ADMINS, "001 §20", ":material/upload_file:"),
    PageDef("学籍库管理", "学籍库信息管理", "pages/ncre/a21_registry.py", ALL_ADMINS, "001 §21", ":material/school:"),
    PageDef("报名管理", "集体报名信息导入", "pages/ncre/a22_group_import.py", ALL_ADMINS, "001 §22", ":material/group_add:"),
    PageDef("报名管理", "考生照片导入", "pages/ncre/a23_photo_import.py", ALL_ADMINS, "001 §23", ":material/add_photo_alternate:"),
    PageDef("报名管理", "考生照片检测", "pages/ncre/a24_photo_check.py", ALL_ADMINS, "001 §24", ":material/image_search:"),
    PageDef("报名管理", "考生管理", "pages/ncre/a25_candidates.py", ALL_ADMINS, "001 §25", ":material/badge:"),
    PageDef("报名管理", "报名信息批量审核", "pages/ncre/a26_review.py", ALL_ADMINS, "001 §26", ":material/fact_check:"),
    PageDef("报名管理", "取消考试信息查看", "pages/ncre/a27_cancelled.py", ALL_ADMINS, "001 §27", ":material/event_busy:"),
    PageDef("报名管理", "报考统计", "pages/ncre/a28_reg_stats.py", ALL_ADMINS, "001 §28", ":material/bar_chart:"),
    PageDef("报名管理", "支付统计", "pages/ncre/a28_pay_stats.py", ALL_ADMINS, "001 §28", ":material/paid:"),
    PageDef("报名管理", "考生统计", "pages/ncre/a28_candidate_stats.py", ALL_ADMINS, "001 §28", ":material/groups:"),
    PageDef("报名管理", "科目容量统计", "pages/ncre/a29_capacity_stats.py", ALL_ADMINS, "001 §29", ":material/event_seat:"),
    PageDef("编排管理", "考场管理", "pages/ncre/a30_rooms.py", ALL_ADMINS, "001 §30", ":material/meeting_room:"),
    PageDef("编排管理", "考场编排管理", "pages/ncre/a31_arrange.py", ALL_ADMINS, "001 §31", ":material/grid_view:"),
    PageDef("编排管理", "准考证号生成", "pages/ncre/a32_ticket_numbers.py", ALL_ADMINS, "001 §32", ":material/pin:"),
    PageDef("编排管理", "考场统计", "pages/ncre/a33_room_stats.py", ALL_ADMINS, "001 §33", ":material/table_chart:"),
    PageDef("准考证管理", "考点小版准考证下载", "pages/ncre/a34_tickets_small.py", ALL_ADMINS, "001 §34", ":material/badge:"),
    PageDef("准考证管理", "考点大版准考证下载", "pages/ncre/a35_tickets_large.py", ALL_ADMINS, "001 §35", ":material/id_card:"),
    PageDef("准考证管理", "考生准考证预生成", "pages/ncre/a36_ticket_pregen.py", ALL_ADMINS, "001 §36", ":material/pending_actions:"),
    PageDef("准考证管理", "考生下载准考证统计", "pages/ncre/a37_ticket_downloads.py", ALL_ADMINS, "001 §37", ":material/download_done:"),
    PageDef("违规管理", "违规信息管理", "pages/ncre/a38_violations.py", ALL_ADMINS, "001 §38", ":material/gavel:"),
    PageDef("违规管理", "违规分类统计", "pages/ncre/a39_violation_stats.py", ALL_ADMINS, "001 §39", ":material/pie_chart:"),
    PageDef("成绩管理", "成绩信息导入", "pages/ncre/a40_score_import.py", ALL_ADMINS, "001 §40", ":material/upload_file:"),
    PageDef("成绩管理", "证书直邮信息导入", "pages/ncre/a41_cert_mailing.py", ALL_ADMINS, "001 §41", ":material/local_shipping:"),
    PageDef("成绩管理", "成绩信息管理", "pages/ncre/a42_scores.py", ALL_ADMINS, "001 §42", ":material/grading:"),
    PageDef("成绩管理", "成绩信息下载", "pages/ncre/a43_score_download.py", ALL_ADMINS, "001 §43", ":material/download:"),
    PageDef("成绩管理", "成绩统计", "pages/ncre/a44_score_stats.py", ALL_ADMINS, "001 §44", ":material/leaderboard:"),
    PageDef("分账管理", "分账账户管理", "pages/ncre/a45_accounts.py", ALL_ADMINS, "001 §45", ":material/account_balance:"),
    PageDef("机考数据管理", "照片包下载", "pages/ncre/a46_photo_pack.py", ALL_ADMINS, "001 §46", ":material/photo_library:"),
    PageDef("机考数据管理", "机考数据下载", "pages/ncre/a47_cbt_data.py", ALL_ADMINS, "001 §47", ":material/database:"),
    PageDef("机考数据管理", "机考模拟考试报告", "pages/ncre/a48_sim_report.py", ALL_ADMINS, "001 §48", ":material/lab_profile:"),
    PageDef("机考数据管理", "机考系统异常文件处理", "pages/ncre/a49_anomaly_files.py", ALL_ADMINS, "001 §49", ":material/report:"),
    PageDef("报表管理", "考场签到表下载", "pages/ncre/a50_signin_sheets.py", ALL_ADMINS, "001 §50", ":material/how_to_reg:"),
    PageDef("报表管理", "考场座次表下载", "pages/ncre/a51_seating_charts.py", ALL_ADMINS, "001 §51", ":material/event_seat:"),
    PageDef("报表管理", "证书领取确认单下载", "pages/ncre/a52_cert_receipts.py", ALL_ADMINS, "001 §52", ":material/workspace_premium:"),
    PageDef("数据统计", "通用统计", "pages/ncre/a53_query_builder.py", ALL_ADMINS, "001 §53", ":material/query_stats:"),
    PageDef("学生服务", "统考英语重考申请", "pages/oces/b01_reexam_apply.py", ("centre_admin", "centre_teacher", "center_admin"), "000 二", ":material/assignment:"),
    PageDef("学生服务", "学生与统考成绩导入", "pages/oces/b03_student_import.py", ("centre_admin", "center_admin"), "000", ":material/upload_file:"),
    PageDef("学生服务", "重考申请审核", "pages/oces/b02_reexam_review.py", ("institution_reviewer", "center_admin"), "000", ":material/fact_check:"),
    PageDef("系统管理", "考次管理", "pages/system/terms.py", ("center_admin",), "001 §4, §7.5", ":material/calendar_month:"),
    PageDef("系统管理", "审计日志", "pages/system/audit_log.py", ALL_ADMINS, "", ":material/history:"),
]


def pages_for(role: str) -> list[PageDef]:
    return [p for p in MENU if role in p.roles]


def sections_for(role: str) -> dict[str, list[PageDef]]:
    out: dict[str, list[PageDef]] = {}
    for p in pages_for(role):
        out.setdefault(p.section, []).append(p)
    return out


def check_menu() -> list[str]:
    """Problems with the menu: missing files, duplicate files/url paths, unknown roles."""
    from core.auth import ROLES

    problems, seen = [], set()
    for p in MENU:
        if not (ROOT / p.file).is_file():
            problems.append(f"页面文件不存在: {p.file}")
        if p.url_path in seen:
            problems.append(f"页面重复: {p.file}")
        seen.add(p.url_path)
        problems += [f"未知角色 {r}: {p.file}" for r in p.roles if r not in ROLES]
    return problems
