"""违纪缺考信息导入 (001 §38.2): the ImportSpec and the entry point for the page and the CLI.

Rules:
- only the site's own 考点管理员, in the current 考次, inside its 缺考违纪管理时间 (before_import);
- columns 准考证号 (required), 违纪类型 (required) and 备注; 违纪类型 may be the code (22; "1" for 01),
  the label of the 码表 ("作弊-夹带"; a category's general code by its name: "作弊", "其他"), the fine name
  ("夹带") or the category ("其他违规"); the template's dropdown and 码表 sheet list the labels;
- each 准考证号 must be a 报考 of this site in the current 考次, and may appear once in the file;
- a 准考证号 that already has a 违规 is UPDATED by the file (违纪类型 and 备注, an empty 备注 clears it; the
  record's 录入方式 becomes 导入) — importing a corrected file again is the way to fix many at once;
- all or nothing (001 §20 style): any error fails the whole file.

The look-ups are one bulk query (per 900 numbers) in `prepare`; the commit is one executemany INSERT
for the new ones and one bulk UPDATE for the existing ones.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.auth import Actor
from core.db import update_by_id
from core.imports.engine import (
    ALL_OR_NOTHING, ImportColumn, ImportContext, ImportIssue, ImportResult, ImportRow, ImportSpec, run_import,
)
from core.models.postexam import VIOLATION_CODES, Violation
from core.services import violations as vs

SHEET = "违纪缺考信息"
LABEL_TYPE = "违纪类型"


def _parse_ticket(text: str) -> str:
    t = vs.clean_ticket(text)
    if not t.isalnum() or not t.isascii():
        raise ValueError(f"准考证号“{text}”格式不正确，应为数字")
    return t


COLUMNS = [
    ImportColumn("ticket_no", "准考证号", required=True, max_length=30, parsers=_parse_ticket,
                 example="1470110001010101", hint="文本格式；本考点本考次考生的准考证号", width=20),
    ImportColumn("code", LABEL_TYPE, required=True, choices=vs.TYPE_LABELS, example="作弊-夹带",
                 hint=vs.TYPE_HINT, width=18),
    ImportColumn("remark", "备注", max_length=vs.REMARK_MAX, example="携带手机", width=30),
]


def _before(ctx: ImportContext) -> None:
    site_id = ctx.options.get("site_id") or ctx.actor.org_id
    site = vs.site_for_write(ctx.session, ctx.actor, int(site_id), "违纪缺考信息导入")
    ctx.options["site_id"] = site.id
    ctx.cache["site"] = site


def _prepare(ctx: ImportContext, rows: list[ImportRow]) -> None:
    """Accept the other spellings of 违纪类型 the 码表 check refused, then ONE bulk look-up of the 准考证号."""
    for row in rows:
        if "code" not in row.failed:
            continue
        raw = row.raw.get("code") or ""
        if not raw.strip():
            continue  # the engine's 不能为空
        code = vs.type_code(raw)
        refused = [e for e in row.errors if e.column == LABEL_TYPE and "不是有效选项" in e.message]
        if not refused:
            continue  # another problem of the cell (merged cell …): keep it
        row.errors = [e for e in row.errors if e not in refused]
        if code is not None and not any(e.column == LABEL_TYPE for e in row.errors):
            row.failed.discard("code")
            row.values["code"] = code
        elif code is None:
            row.errors.append(ImportIssue(row.line, LABEL_TYPE, f"“{raw.strip()}”不是有效的违纪类型（{vs.TYPE_HINT}）"))
    tickets = [r.values["ticket_no"] for r in rows if r.values.get("ticket_no")]
    ctx.cache["found"] = vs.ticket_lookup(ctx.session, ctx.actor.term_id, tickets)


def _validate(ctx: ImportContext, row: ImportRow) -> Iterable[tuple[str | None, str]]:
    v = row.values
    ticket = v.get("ticket_no")
    if not ticket:
        return
    found = ctx.cache["found"].get(ticket)
    problem = vs.ticket_problem(found, ticket, ctx.cache["site"].id, allow_existing=True)
    if problem:
        yield "ticket_no", problem
        return
    reg_id, _site, subject_id, *_rest, violation_id = found
    v["registration_id"], v["subject_id"], v["violation_id"] = reg_id, subject_id, violation_id


def _commit(s: Session, actor: Actor, rows: list[ImportRow], options: dict[str, Any]) -> dict[str, Any]:
    site_id, term_id = int(options["site_id"]), actor.term_id
    new = [r.values for r in rows if not r.values.get("violation_id")]
    old = [r.values for r in rows if r.values.get("violation_id")]
    if new:
        s.execute(insert(Violation), [
            {"term_id": term_id, "site_id": site_id, "registration_id": v["registration_id"],
             "subject_id": v["subject_id"], "ticket_no": v["ticket_no"], "code": v["code"],
             "kind": VIOLATION_CODES[v["code"]][1], "remark": v.get("remark"), "source": "import",
             "created_by": actor.user_id} for v in new])
    if old:
        update_by_id(s, Violation.__table__, [v["violation_id"] for v in old],
                     {"code": [v["code"] for v in old], "kind": [VIOLATION_CODES[v["code"]][1] for v in old],
                      "remark": [v.get("remark") for v in old]},
                     source="import", updated_at=datetime.now())
    return {"written": len(rows), "message": f"新增违规信息 {len(new)} 条，更新已有违规信息 {len(old)} 条",
            "table": [{"项目": "新增", "数量": len(new)}, {"项目": "更新已有", "数量": len(old)}]}


VIOLATION_SPEC = ImportSpec(
    name="ncre_violations", title="违纪缺考信息", sheet_name=SHEET, columns=COLUMNS, key_columns=("ticket_no",),
    commit=_commit, prepare=_prepare, validate_row=_validate, before_import=_before,
    modes=(ALL_OR_NOTHING,), entity=vs.ENTITY, max_rows=50_000,
    upload_types=("xlsx", "xls", "csv"), upload_label="Excel 文件（.xlsx）或 .csv",
    notes=("只读取“违纪缺考信息”工作表；准考证号须是本考点本考次考生的准考证号，文件内不能重复。",
           "违纪类型可填写码表中的名称（如“作弊-夹带”）、细类名称（如“夹带”）或代码（如 22）。",
           "准考证号已有违规信息的，按文件更新其违纪类型和备注（备注为空则清空）。",
           "任何一行有错误，整个文件都不导入。"),
)


def import_violation_file(db: Engine | Session, actor: Actor, data: bytes, filename: str, site_id: int | None = None,
                          *, dry_run: bool = True, progress: Callable[[float, str], None] | None = None,
                          overwrite: bool = True) -> ImportResult:
    """The page's and the CLI's entry point (`site_id` defaults to the actor's own site). A 准考证号 that already
    has a 违规 is always updated from the file; `overwrite` is accepted only so the CLI can call every
    importer the same way, and is ignored."""
    return run_import(db, VIOLATION_SPEC, actor, data, filename, dry_run=dry_run,
                      options={"site_id": site_id or actor.org_id}, progress=progress)
