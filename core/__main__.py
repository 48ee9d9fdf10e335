"""`python -m core ...`: the services from the command line.

  python -m core init-db                 create/upgrade the schema (and the first administrator)
  python -m core create-admin NAME       add a 考试中心 administrator (prints a one-time password)
  python -m core demo [--if-empty]       load the demo system
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
    from core.services.demo import demo_loaded, load_demo
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
    p.set_defaults(fn=cmd_demo)
    sub.add_parser("check", help="检查配置（cookie 密钥、菜单）").set_defaults(fn=cmd_check)
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
