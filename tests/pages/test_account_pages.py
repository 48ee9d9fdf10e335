"""AppTest interactions on 分账账户管理 (§45) and 证书领取确认单下载 (§52)."""
from __future__ import annotations

from sqlalchemy import insert, select

from core.db import session_scope
from core.models import AuditLog, GeneratedFile, Registration, Score, SettlementAccount
from core.services import accounts as acc
from tests.factories import add_candidates, seat_all

A45, A52 = "pages/ncre/a45_accounts.py", "pages/ncre/a52_cert_receipts.py"
SITE = "110001"
FULL = "6222020012345678901"


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("success", "info", "warning", "error", "caption", "markdown")
                     for e in getattr(at, kind))


def accounts_in_db(app_db, site=SITE) -> list[SettlementAccount]:
    with session_scope(app_db.engine) as s:
        return list(s.scalars(select(SettlementAccount).where(SettlementAccount.site_id == app_db.orgs[site],
                                                              SettlementAccount.term_id == app_db.info["current_term"])
                              .order_by(SettlementAccount.id)))


def fill_add_form(at, gen=0, **values):
    p = f"acc_add_{gen}_"
    for k in ("bank_name", "bank_code", "account_name", "account_no", "remark"):
        if k in values:
            at.text_input(key=p + k).input(values[k])
    if "account_type" in values:
        at.selectbox(key=p + "account_type").set_value(values["account_type"])
    return at


# ---------------------------------------------------------------- §45
def test_site_admin_adds_account_and_sees_it_masked(page, app_db):
    at = page(A45, "site" + SITE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "还没有分账账户" in texts(at)
    # a bad form: every field's message, nothing saved
    fill_add_form(at, bank_name="中国工商银行", bank_code="1021", account_name="北京理工大学",
                  account_no="6222-0200")
    at.button(key="acc_add_save").click().run()
    assert not at.exception
    errs = [e.value for e in at.error]
    assert any(m.startswith("银行行号：") and "12 位数字" in m for m in errs), errs
    assert any(m.startswith("账号：") and "只能由数字组成" in m for m in errs), errs
    assert any(m.startswith("账号类型：") for m in errs), errs
    assert accounts_in_db(app_db) == []
    # now right (spaces in the account number are fine)
    fill_add_form(at, bank_code="102100099996", account_no="6222 0200 1234 5678 901", account_type="考点收费账户",
                  remark="考务费")
    at.button(key="acc_add_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "已新增分账账户" in texts(at), texts(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["序号", "开户行", "银行行号", "账户名称", "账号", "账号类型", "备注"]
    assert table.iloc[0]["账号"] == "****8901" and FULL not in table.to_string()
    assert table.iloc[0]["银行行号"] == "102100099996" and table.iloc[0]["账号类型"] == "考点收费账户"
    assert at.text_input(key="acc_add_1_bank_name").value in (None, "")  # the 新增 form starts empty again
    rows = accounts_in_db(app_db)
    assert len(rows) == 1 and rows[0].account_no == FULL


def test_site_admin_edits_and_deletes(page, app_db):
    site = "110003"
    with session_scope(app_db.engine) as s:
        s.add(SettlementAccount(term_id=app_db.info["current_term"], site_id=app_db.orgs[site],
                                bank_name="中国银行", bank_code="104100000004", account_name="首都师范大学",
                                account_no="12345678901234", account_type="其他"))
    at = page(A45, "site" + site).run()
    assert not at.exception
    aid = accounts_in_db(app_db, site)[0].id
    # the 修改 form holds the full number for the site's own admin
    assert at.text_input(key=f"acc_edit_{aid}_account_no").value == "12345678901234"
    at.text_input(key=f"acc_edit_{aid}_remark").input("改为对公")
    at.selectbox(key=f"acc_edit_{aid}_account_type").set_value("对公结算账户")
    at.button(key="acc_edit_save").click().run()
    assert not at.exception and "已修改分账账户" in texts(at), texts(at)
    row = accounts_in_db(app_db, site)[0]
    assert row.remark == "改为对公" and row.account_type == "对公结算账户"
    assert at.button(key="acc_del").disabled  # not confirmed yet
    at.checkbox(key=f"acc_del_sure_{aid}").check().run()
    at.button(key="acc_del").click().run()
    assert not at.exception and "已删除分账账户" in texts(at)
    assert accounts_in_db(app_db, site) == []
    with session_scope(app_db.engine) as s:
        actions = [a for a, in s.execute(select(AuditLog.action).where(AuditLog.entity == acc.ENTITY,
                                                                       AuditLog.org_id == app_db.orgs[site]))]
    assert actions == ["update", "delete"]


def test_copy_from_previous_term(page, app_db):
    site = "110002"
    at = page(A45, "site" + site).run()
    at.button(key="acc_prev").click().run()  # nothing in any earlier 考次
    assert not at.exception and acc.NO_PREVIOUS in texts(at)
    with session_scope(app_db.engine) as s:
        for no, kind in (("62220200111122223333", "考点收费账户"), ("95588000444455556666", "对公结算账户")):
            s.add(SettlementAccount(term_id=app_db.info["past_term"], site_id=app_db.orgs[site],
                                    bank_name="中国建设银行", bank_code="105100000017", account_name="北京交通大学",
                                    account_no=no, account_type=kind, remark="上次"))
    at = page(A45, "site" + site).run()
    at.button(key="acc_prev").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "已将上个考次" in texts(at)
    assert at.text_input(key="acc_add_0_account_no").value == "62220200111122223333"  # filled in the form
    assert at.text_input(key="acc_add_0_bank_code").value == "105100000017"
    assert at.selectbox(key="acc_add_0_account_type").value == "考点收费账户"
    at.selectbox(key="acc_prev_pick").set_value(1).run()  # the other account fills the form
    assert at.text_input(key="acc_add_0_account_no").value == "95588000444455556666"
    assert at.selectbox(key="acc_add_0_account_type").value == "对公结算账户"
    at.button(key="acc_add_save").click().run()  # save the filled form as it is
    assert not at.exception and "已新增分账账户" in texts(at), texts(at)
    assert [r.account_no for r in accounts_in_db(app_db, site)] == ["95588000444455556666"]
    # 全部添加到本考次: the other one is added, the saved one skipped
    at.button(key="acc_prev").click().run()
    at.button(key="acc_prev_all").click().run()
    assert not at.exception
    assert "添加 1 个分账账户" in texts(at) and "****6666" in texts(at), texts(at)
    assert sorted(r.account_no for r in accounts_in_db(app_db, site)) == ["62220200111122223333",
                                                                          "95588000444455556666"]
    table = at.dataframe[0].value
    assert sorted(table["账号"]) == ["****3333", "****6666"]


def test_upper_admin_views_masked_and_cannot_edit(page, app_db):
    with session_scope(app_db.engine) as s:
        s.add(SettlementAccount(term_id=app_db.info["current_term"], site_id=app_db.orgs["110004"],
                                bank_name="中国农业银行", bank_code="103100000026", account_name="北京工业大学",
                                account_no="62284800001234567", account_type="其他"))
    at = page(A45, "prov11").run()
    assert not at.exception
    at.selectbox(key="org_picker_site").set_value(app_db.orgs["110004"]).run()
    assert not at.exception
    assert acc.UPPER_NOTE in texts(at)
    table = at.dataframe[0].value
    assert list(table["账号"]) == ["****4567"] and "62284800001234567" not in table.to_string()
    assert not at.text_input and not at.tabs  # no forms at all
    assert "62284800001234567" not in str(at)
    # the site's own admin: the same masked list, and the full number only in its 修改 form
    at = page(A45, "site110004").run()
    assert not at.exception and list(at.dataframe[0].value["账号"]) == ["****4567"]
    aid = accounts_in_db(app_db, "110004")[0].id
    assert at.text_input(key=f"acc_edit_{aid}_account_no").value == "62284800001234567"


# ---------------------------------------------------------------- §52
def _scores(app_db, site):
    sid, tid = app_db.orgs[site], app_db.info["current_term"]
    with session_scope(app_db.engine) as s:
        regs = s.execute(select(Registration.id, Registration.subject_id, Registration.ticket_no)
                         .where(Registration.site_id == sid, Registration.term_id == tid)
                         .order_by(Registration.id)).all()
        s.execute(insert(Score), [{"term_id": tid, "site_id": sid, "registration_id": rid, "subject_id": subj,
                                   "ticket_no": t, "score": [92, 45, 81][i % 3], "flag": "",
                                   "cert_no": f"N{t[-6:]}"} for i, (rid, subj, t) in enumerate(regs)])
    return len(regs)


def test_cert_receipts_site_admin_generates_after_scores(page, app_db):
    site = "440101"
    sid, tid = app_db.orgs[site], app_db.info["current_term"]
    with session_scope(app_db.engine) as s:
        add_candidates(s, sid, tid, 9, ("14",), paid=True, start=800)
        seat_all(s, sid, tid, capacity=5)
    at = page(A52, "site" + site).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "尚未导入成绩信息" in texts(at) and at.button(key="gen_cert_receipt_build").disabled
    n = _scores(app_db, site)
    at = page(A52, "site" + site).run()
    assert "已导入成绩 9 科次，其中合格（可领取证书）6 科次，分布在 2 个考场" in texts(at), texts(at)
    assert not at.button(key="gen_cert_receipt_build").disabled
    at.button(key="gen_cert_receipt_build").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "证书领取确认单已生成" in texts(at), texts(at)
    with session_scope(app_db.engine) as s:
        row = s.scalar(select(GeneratedFile).where(GeneratedFile.site_id == sid,
                                                   GeneratedFile.kind == "cert_receipt"))
    assert row.rows == 6 and n == 9 and row.filename == f"证书领取确认单_70_{site}.zip"
    assert any(b.label == "下载证书领取确认单" for b in at.get("download_button"))


def test_cert_receipts_upper_admin_sees_status_only(page, app_db):
    at = page(A52, "prov44").run()
    assert not at.exception
    at.selectbox(key="org_picker_site").set_value(app_db.orgs["440101"]).run()
    assert not at.exception
    assert "上级机构只能查看生成情况" in texts(at)
    assert not any(b.key == "gen_cert_receipt_build" for b in at.button)
    assert not at.get("download_button")
