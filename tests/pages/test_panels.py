"""The import panel (on 用户与机构管理 › 批量导入用户) and the review panel, driven through AppTest."""
import io

from openpyxl import Workbook
from sqlalchemy import func, select

from core.db import session_scope
from core.models import User


def _users_xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "用户信息"
    ws.append(["序号", "机构代码", "姓名", "通行证ID", "邮箱", "手机"])
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(world, prefix):
    with session_scope(world.engine) as s:
        return s.scalar(select(func.count()).select_from(User).where(User.username.like(prefix + "%")))


def test_user_import_dry_run_then_only_valid(page, app_db):
    data = _users_xlsx([
        ["110001", "张导入", "IMPA0001", "impa1@example.cn", "13912345678"],
        ["440101", "越权者", "IMPA0002", "impa2@example.cn", "13912345679"],  # 广东: outside 北京's scope
    ])
    at = page("pages/ncre/a07_users_orgs.py", "prov11").run()
    assert not at.exception
    at.file_uploader[0].upload("users.xlsx", data).run()
    at.button(key="imp_users_check").click().run()
    assert not at.exception
    errors = [m for m in at.metric if m.label == "错误"]
    assert errors and errors[0].value == "1"
    assert _count(app_db, "IMPA") == 0  # the dry run wrote nothing
    at.radio(key="imp_users_mode").set_value("only_valid").run()
    at.button(key="imp_users_check").click().run()
    at.button(key="imp_users_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _count(app_db, "IMPA") == 1
    assert any("一次性密码" in d.label or "密码" in d.label for d in at.get("download_button")) or at.success


def test_review_panel_reject_needs_reason(app_db):
    from streamlit.testing.v1 import AppTest

    from core.workflow import submit
    from tests.pages.conftest import login_sid
    from tests.unit.test_workflow import SPEC

    actor = app_db.actor("site110001")
    with session_scope(app_db.engine) as s:
        app = submit(s, actor, SPEC, "panel-test-1", actor.org_id, app_db.orgs["11"], {"name": "张三"})
        app_id = app.id

    def script(app_id):
        from core.ui.review_panel import review_panel
        from core.ui.session import engine, require_actor
        from tests.unit.test_workflow import SPEC
        review_panel(SPEC, require_actor(), engine(), app_id, labels={"name": "姓名"})

    at = AppTest.from_function(script, args=(app_id,))
    at.session_state["kaowu_sid"] = login_sid(app_db, "prov11")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    reject = [b for b in at.button if "驳回" in b.label or "不通过" in b.label]
    assert reject, [b.label for b in at.button]
    reject[0].click().run()
    assert any("原因" in e.value for e in at.error), [e.value for e in at.error]
    at.text_area[0].input("证明材料不清晰").run()
    reject = [b for b in at.button if "驳回" in b.label or "不通过" in b.label]
    reject[0].click().run()
    assert not at.error
    assert any("已" in s.value for s in at.success)
