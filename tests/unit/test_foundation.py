"""Scope predicate, windows, 考次 rule, audit append-only, auth sessions and lockout — SQLite and PostgreSQL."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from core import auth
from core.db import session_scope
from core.errors import AuthError, ReadOnlyTerm, WindowClosed
from core.models import AuditLog, OpWindow, Org
from core.services.base import audit, require_window, window_state


def test_scope_sees_own_and_below_only(seed):
    a = seed.actor("site110001")
    p = seed.actor("prov11")
    with session_scope(seed.engine) as s:
        site_ids = set(s.scalars(auth.scope_org_ids(a)))
        assert site_ids == {seed.orgs["110001"]}
        prov = set(s.scalars(select(Org.code).where(auth.in_scope(p, Org.id))))
        assert "110001" in prov and "1101" in prov and "11" in prov
        assert "44" not in prov and "440101" not in prov and "000000" not in prov
        with pytest.raises(Exception, match="不在您的管理范围"):
            auth.get_scoped_org(s, a, seed.orgs["110002"])


def test_window_refuses_outside_and_past_term(seed):
    a = seed.actor("site110001")
    with session_scope(seed.engine) as s:
        require_window(s, a, "pre_reg_setting")  # demo windows are open now
        with pytest.raises(WindowClosed, match="报名前设置时间"):
            require_window(s, a, "pre_reg_setting", now=datetime.now() + timedelta(days=60))
        w = s.scalar(select(OpWindow).where(OpWindow.org_id == a.org_id, OpWindow.kind == "violation",
                                            OpWindow.term_id == a.term_id))
        s.delete(w)
        s.flush()
        st = window_state(s, a, "violation")
        assert not st.is_open and "未设置" in st.message
    past = seed.actor("site110001", term="past")
    with session_scope(seed.engine) as s, pytest.raises(ReadOnlyTerm, match="历史考次"):
        require_window(s, past, "pre_reg_setting")


def test_audit_log_is_append_only(seed):
    a = seed.actor("center")
    with session_scope(seed.engine) as s:
        audit(s, a, "update", "测试", 1, before={"x": 1}, after={"x": 2})
    with pytest.raises(DatabaseError):
        with session_scope(seed.engine) as s:
            s.execute(text("UPDATE audit_log SET action='x'"))
    with pytest.raises(DatabaseError):
        with session_scope(seed.engine) as s:
            s.execute(text("DELETE FROM audit_log"))
    with session_scope(seed.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.entity == "测试")) == 1


def test_lockout_survives_new_sessions(seed):
    for i in range(5):
        with pytest.raises(AuthError):
            with session_scope(seed.engine) as s:
                try:
                    auth.authenticate(s, "site110001", "wrong-pass-1")
                finally:
                    s.commit()  # the failure counter persists although the login failed
    with session_scope(seed.engine) as s, pytest.raises(AuthError, match="锁定"):
        auth.authenticate(s, "site110001", seed.password)


def test_session_revocation(seed):
    with session_scope(seed.engine) as s:
        u = auth.authenticate(s, "site110001", seed.password)
        sid = auth.create_session(s, u).id
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, sid) is not None
        auth.revoke_session(s, sid)
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, sid) is None


def test_password_rules(seed):
    with pytest.raises(Exception, match="过长"):
        auth.hash_password("a1" * 40)
    with session_scope(seed.engine) as s, pytest.raises(AuthError, match="过长"):
        auth.authenticate(s, "site110001", "x" * 1000)
    with session_scope(seed.engine) as s:
        u = auth.authenticate(s, "site110001", seed.password)
        keep = auth.create_session(s, u).id
        other = auth.create_session(s, u).id
        with pytest.raises(Exception, match="字母和数字"):
            auth.change_password(s, u.id, seed.password, "short", "short", keep)
        auth.change_password(s, u.id, seed.password, "NewPass2026", "NewPass2026", keep)
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, other) is None and auth.session_user(s, keep) is not None


def test_forged_cookie_rejected():
    key = "k" * 48
    tok = auth.encode_token("sid123", key, datetime.now() + timedelta(hours=1))
    assert auth.decode_token(tok, key) == "sid123"
    assert auth.decode_token(auth.encode_token("sid123", "weak", datetime.now() + timedelta(hours=1)), key) is None
    assert auth.decode_token(tok[:-2] + "xx", key) is None
    assert auth.decode_token(auth.encode_token("s", key, datetime.now() - timedelta(hours=1)), key) is None


def test_disabled_org_cannot_log_in_and_live_session_dies(seed):
    from core.models import OrgTerm
    with session_scope(seed.engine) as s:
        u = auth.authenticate(s, "site110002", seed.password)
        sid = auth.create_session(s, u).id
        ot = s.scalar(select(OrgTerm).where(OrgTerm.org_id == seed.orgs["110002"],
                                            OrgTerm.term_id == seed.info["current_term"]))
        ot.enabled = False
    with session_scope(seed.engine) as s:
        assert auth.session_user(s, sid) is None
        with pytest.raises(AuthError, match="未启用"):
            auth.authenticate(s, "site110002", seed.password)


def test_readonly_scope_never_commits(seed):
    from core.models import Subject
    with session_scope(seed.engine, readonly=True) as s:
        s.add(Subject(code="99", name="只读测试", level=1, duration_min=90))
        s.flush()
    with session_scope(seed.engine, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Subject).where(Subject.code == "99")) == 0


def test_specs_and_menu_are_consistent():
    from core import admin, menu, specs
    specs.load_all()
    assert admin.check_all() == []
    assert menu.check_menu() == []


def test_audit_detail_masks_personal_fields(seed):
    """A user's phone in an audit row's before/after is masked when shown (the user list masks it too)."""
    from core import specs
    from core.services import listing, orgs
    from core.specs.audit import AUDIT_LOG
    specs.load_all()
    prov = seed.actor("prov11")
    with session_scope(seed.engine) as s:
        uid = seed.users["site110001"]
        orgs.update_user(s, prov, uid, phone="13912345678")
    with session_scope(seed.engine) as s:
        page = listing.list_rows(s, prov, AUDIT_LOG, filters={}, keyword="用户", sort=None, page=1, page_size=50)
        row_id = next(r[listing.ID_KEY] for r in page.rows if r["entity"] == "用户" and r["action"] in ("update", "修改"))
        detail = listing.get_row(s, prov, AUDIT_LOG, row_id)
    text = repr(detail)
    assert "13912345678" not in text and "139****5678" in text


def test_wrong_password_and_unknown_user_look_the_same(seed):
    msgs = []
    for name in ("site110003", "no-such-user"):
        with session_scope(seed.engine) as s, pytest.raises(AuthError) as e:
            auth.authenticate(s, name, "wrong-pass-1")
        msgs.append(e.value.message)
    assert msgs[0] == msgs[1] == auth.WRONG_LOGIN
