"""`python -m core ...`: the services from the command line.

  python -m core init-db                 create/upgrade the schema (and the first administrator)
  python -m core create-admin NAME       add a 考试中心 administrator (prints a one-time password)
  python -m core demo [--if-empty] [--candidates N]
                                         load the demo system (and N demo candidates, default 20000)
  python -m core import registry|group-registration|photos|violations FILE --site CODE [--overwrite] [--report OUT.xlsx]
                 [--dry-run] [--check-portrait]
                                         import a file as that site's administrator in the current 考次;
                                         exit 0 = imported, 1 = file refused or has errors, 2 = usage error
  python -m core arrange --site CODE [--clear]
                                         automatic seat arrangement of the site (001 §31); --clear first clears it;
                                         exit 0 = everything placed, 1 = some registrations could not be placed
  python -m core ticket-numbers --site CODE
                                         generate the site's 准考证号 (001 §32)
  python -m core tickets --site CODE --layout small|large --out FILE.zip [--order room|ticket|class|name]
                                         generate the site's 小版/大版准考证 ZIP of PDFs (001 §34–35)
  python -m core import violations|scores|cert-mailing FILE --site CODE [--no-check-violation]
                 [--no-check-unknown] [--no-check-identity]   违规 (Excel), 成绩 and 证书直邮 (CSV), 001 §38, §40–41
  python -m core export scores --format dbf|csv --site CODE --out FILE
                                         the site's 成绩信息 (001 §43), inside its 考后资料下载时间
  python -m core stats --spec SPEC.json --out FILE.xlsx [--user USERNAME]
                                         通用统计 (001 §53) within that user's scope (default: the 考试中心)
  python -m core check                   check configuration (cookie key, database, menu)
"""
from __future__ import annotations

import argparse
import sys

from core import config
from core.db import get_engine, session_scope


def cmd_init_db(_args) -> int:
    from core.services.setup import init_db

    pw = init_db(get_engine())
    if pw is None:
        print("数据库已是最新结构。")
    return 0


def cmd_create_admin(args) -> int:
    from core.services.setup import create_admin, init_db

    init_db(get_engine(), announce=lambda *_: None)
    with session_scope() as s:
        try:
            pw = create_admin(s, args.username, name=args.name)
        except ValueError as e:
            print(f"错误：{e}", file=sys.stderr)
            return 2
    print(f"已创建考试中心管理员 {args.username}，一次性密码：{pw}（首次登录后必须修改）")
    return 0


def cmd_demo(args) -> int:
    from core.services.demo import demo_loaded, load_demo, load_demo_registrations
    from core.services.setup import init_db

    init_db(get_engine())
    with session_scope() as s:
        if demo_loaded(s):
            if args.if_empty:
                print("演示数据已存在，跳过。")
                return 0
            print("错误：演示数据已载入过。", file=sys.stderr)
            return 2
        try:
            load_demo(s)
        except ValueError as e:
            if args.if_empty:
                print(f"跳过演示数据：{e}")
                return 0
            print(f"错误：{e}", file=sys.stderr)
            return 2
        if args.candidates > 0:
            print(f"正在载入 {args.candidates} 名演示考生…")
            load_demo_registrations(s, n=args.candidates)
    return 0


# ---------------------------------------------------------------- import
IMPORT_KINDS = {"registry": "学籍数据导入", "group-registration": "集体报名信息导入", "photos": "考生照片导入",
                "violations": "违纪缺考信息导入", "scores": "成绩信息导入", "cert-mailing": "证书直邮信息导入"}
ERRORS_SHOWN = 20


def _site_actor(code: str):
    """((site id, code, name), its administrator's Actor in the current 考次, None), or a usage error message."""
    from sqlalchemy import select

    from core.auth import actor_for
    from core.models import ExamTerm, Org, User

    with session_scope(readonly=True) as s:
        site = s.scalar(select(Org).where(Org.code == code.strip()))
        if site is None or site.kind != "site":
            return None, None, f"考点代码“{code}”不存在" + ("（该代码不是考点）" if site is not None else "") + "。"
        if s.scalar(select(ExamTerm.id).where(ExamTerm.is_current.is_(True))) is None:
            return None, None, "系统尚未设置当前考次。"
        user = s.scalar(select(User).where(User.org_id == site.id, User.role == "site_admin",
                                           User.enabled.is_(True)).order_by(User.id).limit(1))
        if user is None:
            return None, None, f"考点（{site.code}）{site.name}没有启用的考点管理员账号，无法以考点身份导入。"
        return (site.id, site.code, site.name), actor_for(s, user), None


def _first_errors(result, limit: int) -> list[str]:
    """The first errors as lines: 第 n 行【列】：message (imports) or 文件：message (photos, 证件号码 masked)."""
    if hasattr(result, "error_table") and not hasattr(result.errors[0], "text"):
        return [f"{r['文件']}：{r['错误信息']}" for r in result.error_table(limit)]
    return [e.text for e in result.errors[:limit]]


def _progress(fraction: float, text: str) -> None:
    print(f"  [{fraction:4.0%}] {text}", file=sys.stderr, flush=True)


def cmd_import(args) -> int:
    from pathlib import Path

    from core.errors import DomainError

    path = Path(args.file)
    if not path.is_file():
        print(f"错误：文件不存在：{path}", file=sys.stderr)
        return 2
    site, actor, problem = _site_actor(args.site)
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
        return 2
    site_id, site_code, site_name = site
    data = path.read_bytes()
    title = IMPORT_KINDS[args.kind]
    print(f"{title}：{path.name} → 考点（{site_code}）{site_name}，操作人 {actor.username}"
          + ("（仅校验，不写入）" if args.dry_run else ""))
    progress = _progress if args.progress or sys.stderr.isatty() else None
    try:
        if args.kind == "photos":
            from core.services.photos import import_photos

            with session_scope() as s:
                result = import_photos(s, actor, site_id, data, path.name, overwrite=args.overwrite,
                                       check_portrait=args.check_portrait, progress=progress)
                if args.dry_run:
                    s.rollback()
            written = None
        else:
            kw = dict(dry_run=args.dry_run, progress=progress)
            if args.kind == "scores":
                from core.imports.specs_scores import import_score_file as run
                kw.update(check_violation=not args.no_check_violation, check_unknown=not args.no_check_unknown,
                          check_identity=not args.no_check_identity)
            elif args.kind == "cert-mailing":
                from core.imports.specs_scores import import_cert_mailing_file as run
            else:
                kw["overwrite"] = args.overwrite
                if args.kind == "registry":
                    from core.imports.specs_registry import import_registry_file as run
                elif args.kind == "violations":
                    from core.imports.specs_violation import import_violation_file as run
                else:
                    from core.imports.specs_group import import_group_file as run
            result = run(get_engine(), actor, data, path.name, site_id, **kw)
            written = result.written
    except DomainError as e:
        print(f"未导入：{e.message}", file=sys.stderr)
        return 1
    totals = dict(result.totals())
    if written is not None:
        totals["写入"] = written
    print("，".join(f"{k} {v}" for k, v in totals.items()))
    print(result.message)
    summary = getattr(result, "summary", None) or {}
    if summary.get("message"):
        print(summary["message"])
    if args.kind == "photos" and args.dry_run:
        print("（--dry-run：照片已校验，未保存到照片目录。）")
    if not result.errors:
        return 0
    print(f"错误（共 {len(result.errors)} 条，前 {min(ERRORS_SHOWN, len(result.errors))} 条）：", file=sys.stderr)
    for line in _first_errors(result, ERRORS_SHOWN):
        print(f"  {line}", file=sys.stderr)
    if args.report:
        out = Path(args.report)
        out.write_bytes(result.error_report())
        print(f"错误报告已写入 {out}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- arrangement and tickets
def _as_site(args):
    """The site and its administrator's Actor, or print the usage error and return None."""
    site, actor, problem = _site_actor(args.site)
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
        return None
    return site, actor


def cmd_arrange(args) -> int:
    from core.errors import DomainError
    from core.services import arrangement as ar

    found = _as_site(args)
    if found is None:
        return 2
    (site_id, code, name), actor = found
    try:
        with session_scope() as s:
            if args.clear:
                print(ar.clear_arrangement(s, actor, site_id, all=True).message)
            report = ar.arrange_auto(s, actor, site_id)
    except DomainError as e:
        print(f"未编排：{e.message}", file=sys.stderr)
        return 1
    print(f"考点（{code}）{name}：{report.message}")
    for line in report.unplaced_lines()[:ERRORS_SHOWN]:
        print(f"  {line}", file=sys.stderr)
    return 1 if report.unplaced else 0


def cmd_ticket_numbers(args) -> int:
    from core.errors import DomainError
    from core.services import arrangement as ar

    found = _as_site(args)
    if found is None:
        return 2
    (site_id, code, name), actor = found
    try:
        with session_scope() as s:
            report = ar.generate_ticket_numbers(s, actor, site_id)
    except DomainError as e:
        print(f"未生成：{e.message}", file=sys.stderr)
        return 1
    print(f"考点（{code}）{name}：{report.message}")
    return 0


def cmd_tickets(args) -> int:
    from pathlib import Path

    from core.errors import DomainError
    from core.services import generated as gen
    from core.services import ticket_files as tf

    found = _as_site(args)
    if found is None:
        return 2
    (site_id, code, name), actor = found
    kind = f"tickets_{args.layout}"
    progress = _progress if args.progress or sys.stderr.isatty() else gen._noop
    try:
        with session_scope() as s:
            build = tf.build_tickets_small if args.layout == "small" else tf.build_tickets_large
            info = gen.generate(s, actor, site_id, kind, build, tf.order_options(args.order),
                                progress=progress)
        with session_scope() as s:
            data, filename = gen.download(s, actor, site_id, kind)
    except DomainError as e:
        print(f"未生成：{e.message}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.write_bytes(data)
    print(f"考点（{code}）{name}：{info.title} {info.rows} 张 → {out}（{info.size_text}）")
    return 0


def cmd_export(args) -> int:
    """成绩信息下载 (001 §43) of a site as DBF or CSV (inside its 考后资料下载时间, audited)."""
    from pathlib import Path

    from core.errors import DomainError
    from core.services.scores import export_scores

    found = _as_site(args)
    if found is None:
        return 2
    (site_id, code, name), actor = found
    try:
        with session_scope() as s:
            data, filename = export_scores(s, actor, site_id, args.format)
    except DomainError as e:
        print(f"未导出：{e.message}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.write_bytes(data)
    print(f"考点（{code}）{name}：成绩信息（{args.format.upper()}，{filename}）→ {out}（{len(data):,} 字节）")
    return 0


# ---------------------------------------------------------------- statistics
def cmd_stats(args) -> int:
    """通用统计 (001 §53) from a JSON spec, as a user (scope) — default the first 考试中心 administrator."""
    import json
    from pathlib import Path

    from sqlalchemy import select

    from core.analytics import builder as qb
    from core.auth import actor_for
    from core.errors import DomainError
    from core.models import User

    path = Path(args.spec)
    if not path.is_file():
        print(f"错误：文件不存在：{path}", file=sys.stderr)
        return 2
    try:
        spec = qb.spec_from_json(json.loads(path.read_text(encoding="utf-8-sig")))
    except json.JSONDecodeError as e:
        print(f"错误：{path.name} 不是有效的 JSON（第 {e.lineno} 行第 {e.colno} 列）：{e.msg}", file=sys.stderr)
        return 2
    except DomainError as e:
        print(f"错误：{e.message}", file=sys.stderr)
        return 2
    with session_scope(readonly=True) as s:
        q = select(User).where(User.enabled.is_(True))
        q = q.where(User.username == args.user) if args.user else q.where(User.role == "center_admin")
        user = s.scalar(q.order_by(User.id).limit(1))
        if user is None:
            print(f"错误：用户“{args.user}”不存在或已停用。" if args.user else "错误：没有考试中心管理员账号。",
                  file=sys.stderr)
            return 2
        actor = actor_for(s, user)
    try:
        with session_scope() as s:
            res = qb.run(s, actor, spec)
            data, _name = qb.export_xlsx(s, actor, spec)
    except DomainError as e:
        print(f"未统计：{e.message}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.write_bytes(data)
    print(f"通用统计（{actor.username}，{res.sites} 个考点）：{qb.describe(spec)}")
    print(f"{len(res.table)} 行 × {len(res.table.columns)} 列，用时 {res.elapsed:.2f} 秒 → {out}")
    return 0


def cmd_check(_args) -> int:
    from core.menu import check_menu

    problems = check_menu()
    try:
        config.cookie_key()
    except config.ConfigError as e:
        problems.append(str(e))
    for p in problems:
        print(p, file=sys.stderr)
    print("配置正常。" if not problems else f"发现 {len(problems)} 个问题。")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description="Kaowu 考务管理：命令行工具")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.add_parser("init-db", help="创建/升级数据库结构（空库时创建首位考试中心管理员）").set_defaults(fn=cmd_init_db)
    p = sub.add_parser("create-admin", help="新增考试中心管理员（打印一次性密码）")
    p.add_argument("username")
    p.add_argument("--name", default="考试中心管理员")
    p.set_defaults(fn=cmd_create_admin)
    p = sub.add_parser("demo", help="载入演示数据（一个考试中心、两个省、地市、考点、科目、考次）")
    p.add_argument("--if-empty", action="store_true", help="已有数据时跳过而不报错")
    p.add_argument("--candidates", type=int, default=20_000, metavar="N",
                   help="同时载入的演示考生人数（默认 20000；0 = 不载入考生）")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("import", help="以考点管理员身份导入文件（学籍 / 集体报名 / 考生照片 / 违规 / 成绩 / 证书直邮）")
    p.add_argument("kind", choices=list(IMPORT_KINDS), help="registry 学籍数据；group-registration 集体报名信息"
                                                           "（ZIP 内含 Excel）；photos 考生照片（ZIP）；violations 违纪缺考"
                                                           "（Excel）；scores 成绩（CSV）；cert-mailing 证书直邮（CSV）")
    p.add_argument("file", help="要导入的文件")
    p.add_argument("--site", required=True, metavar="CODE", help="考点代码（以该考点的考点管理员身份导入，当前考次）")
    p.add_argument("--overwrite", action="store_true", help="覆盖已有数据（学籍 / 报名信息 / 重名照片）")
    p.add_argument("--report", metavar="OUT.xlsx", help="有错误时把错误报告写到此文件")
    p.add_argument("--dry-run", action="store_true", help="只校验，不写入")
    p.add_argument("--check-portrait", action="store_true", help="照片：检测是否为证件照（简易检测）")
    p.add_argument("--progress", action="store_true", help="在标准错误输出显示进度")
    p.add_argument("--no-check-violation", action="store_true",
                   help="成绩：不校验违规不一致（成绩文件的违规标记直接更新到违规表）")
    p.add_argument("--no-check-unknown", action="store_true", help="成绩：不校验无准考证号信息数据（跳过这些行）")
    p.add_argument("--no-check-identity", action="store_true",
                   help="成绩：不校验姓名和证件号（以成绩文件为准更新系统中的姓名和证件号）")
    p.set_defaults(fn=cmd_import)
    p = sub.add_parser("export", help="导出考点成绩信息（DBF 或 CSV，考后资料下载时间内）")
    p.add_argument("what", choices=("scores",), help="scores 成绩信息")
    p.add_argument("--format", choices=("dbf", "csv"), default="dbf", help="dbf（ZIP 内含 <考点代码>.DBF，GBK）或 csv（GBK）")
    p.add_argument("--site", required=True, metavar="CODE", help="考点代码")
    p.add_argument("--out", required=True, metavar="FILE", help="输出文件")
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser("arrange", help="考场自动编排（以考点管理员身份，当前考次）")
    p.add_argument("--site", required=True, metavar="CODE", help="考点代码")
    p.add_argument("--clear", action="store_true", help="先清除本考点所有编排结果")
    p.set_defaults(fn=cmd_arrange)
    p = sub.add_parser("ticket-numbers", help="生成准考证号（本考点所有报考科目须已编排）")
    p.add_argument("--site", required=True, metavar="CODE", help="考点代码")
    p.set_defaults(fn=cmd_ticket_numbers)
    p = sub.add_parser("tickets", help="生成考点小版/大版准考证（ZIP 内含 PDF）")
    p.add_argument("--site", required=True, metavar="CODE", help="考点代码")
    p.add_argument("--layout", choices=("small", "large"), default="small", help="small 小版（每页 6 张）；large 大版")
    p.add_argument("--out", required=True, metavar="FILE.zip", help="输出文件")
    p.add_argument("--order", choices=("room", "ticket", "class", "name"), default="room",
                   help="生成顺序：room 按考场座位；ticket 按准考证号；class 按班级；name 按姓名")
    p.add_argument("--progress", action="store_true", help="在标准错误输出显示进度")
    p.set_defaults(fn=cmd_tickets)
    p = sub.add_parser("stats", help="通用统计：按 JSON 条件统计并导出 Excel")
    p.add_argument("--spec", required=True, metavar="SPEC.json",
                   help='统计条件，如 {"dims": ["site", "subject"], "indicators": [{"key": "score_ge", "x": 60}], '
                        '"filters": {"paid": ["已缴费"]}, "pivot": ["subject"]}，或 {"preset": "常用报考统计"}')
    p.add_argument("--out", required=True, metavar="FILE.xlsx", help="输出文件")
    p.add_argument("--user", metavar="USERNAME", help="以该用户的权限范围统计（默认：考试中心管理员）")
    p.set_defaults(fn=cmd_stats)
    sub.add_parser("check", help="检查配置（cookie 密钥、菜单）").set_defaults(fn=cmd_check)
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
