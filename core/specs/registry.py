"""学籍库信息管理 (001 §21): the declared list/detail/form page of the registry.

Query (basic filters, the rest under 更多查询条件), 新增, 修改 (证件类型/证件号码 not editable), 删除
(selected rows), 查看详情, 导出 (masked, audited). Writes: the owning site's administrator inside
its 报名资格管理时间; upper levels view and export. 删除全部查询结果 is drawn by the page
(pages/ncre/a21_registry.py) over `core.services.registry.delete_query_results`.
"""
from __future__ import annotations

import unicodedata
import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.admin import Column, EntitySpec, FormField, Filter, register
from core.auth import ADMIN_ROLES, Actor, in_scope
from core.codes import EDUCATION_LEVELS, GENDERS, ID_TYPES
from core.models import Org, RegistryRecord
from core.services import registry as reg

WRITE_ROLES = ("site_admin",)


def _base(actor: Actor):
    return select(RegistryRecord).join(Org, Org.id == RegistryRecord.site_id)


def _id_clause(v: str):
    """证件号码 contains the text (normalised like the stored numbers: half-width, no spaces, upper case)."""
    t = re.sub(r"[\s\u3000]+", "", unicodedata.normalize("NFKC", v)).upper()
    return RegistryRecord.id_number.contains(t, autoescape=True)


def _site_clause(v: str):
    return or_(Org.code.contains(v, autoescape=True), Org.name.contains(v, autoescape=True))


def _years(s: Session, actor: Actor) -> dict[int, str]:
    years = s.scalars(select(RegistryRecord.enrol_year).distinct()
                      .where(in_scope(actor, RegistryRecord.site_id), RegistryRecord.enrol_year.is_not(None))
                      .order_by(RegistryRecord.enrol_year.desc()))
    return {y: str(y) for y in years}


def _choices(items) -> dict[str, str]:
    return {x: x for x in items}


def _create(s: Session, actor: Actor, values: dict) -> RegistryRecord:
    return reg.create_record(s, actor, values)


def _update(s: Session, actor: Actor, id: int, values: dict) -> RegistryRecord:
    return reg.update_record(s, actor, id, values)


def _delete(s: Session, actor: Actor, ids: list[int]) -> str:
    return reg.delete_records(s, actor, ids)


REGISTRY = register(EntitySpec(
    name="registry",
    title="学籍库信息管理",
    description=("学籍数据和考次无关，跨考次一直保留。考点管理员在本考点报名资格管理时间内可以新增、修改、删除单个考生、"
                 "删除全部查询结果考生；上级机构只能查询查看和导出。更改学籍信息不会影响已报名考生的报名数据。"),
    model=RegistryRecord,
    org_column=RegistryRecord.site_id,
    base_query=_base,
    columns=(
        Column("site", "考点", expr="(" + Org.code + ")" + Org.name, width="medium"),
        Column("name", "姓名"),
        Column("id_type", "证件类型"),
        Column("id_number", "证件号码", mask="id"),
        Column("gender", "性别", width="small"),
        Column("birth_date", "出生日期", fmt="%Y-%m-%d"),
        Column("ethnicity", "民族", width="small"),
        Column("education", "文化程度"),
        Column("department", "院系"),
        Column("major", "专业"),
        Column("class_name", "班级"),
        Column("student_no", "学号"),
        Column("enrol_year", "入学年份", width="small"),
        Column("phone", "手机号码", mask="phone"),
        Column("remark", "备注", sortable=False),
    ),
    detail_fields=(
        Column("created_at", "创建时间", fmt="%Y-%m-%d %H:%M:%S"),
        Column("updated_at", "更新时间", fmt="%Y-%m-%d %H:%M:%S"),
    ),
    filters=(
        Filter("id_number", "证件号码", "text", clause=_id_clause),
        Filter("name", "姓名", "text"),
        Filter("class_name", "班级", "text"),
        Filter("major", "专业", "text"),
        Filter("department", "院系", "text", expanded=True),
        Filter("education", "文化程度", "choice", choices=_choices(EDUCATION_LEVELS), expanded=True),
        Filter("student_no", "学号", "text", expanded=True),
        Filter("enrol_year", "入学年份", "choice", choices=_years, expanded=True),
        Filter("site", "考点（代码或名称）", "text", clause=_site_clause, expanded=True),
    ),
    default_sort=None,
    form_fields=(
        FormField("id_type", "证件类型", "choice", required=True, choices=_choices(ID_TYPES), default=ID_TYPES[0],
                  readonly_on_edit=True),
        FormField("id_number", "证件号码", required=True, max_len=40, readonly_on_edit=True,
                  help="考生的唯一标识，保存后不能修改。居民身份证号码末位小写 x 自动转为 X。"),
        FormField("name", "姓名", required=True, max_len=50),
        FormField("gender", "性别", "choice", choices=_choices(GENDERS),
                  help="居民身份证可不填，按证件号码自动填写；填写则须与证件号码一致。"),
        FormField("birth_date", "出生日期", "date",
                  help="居民身份证可不填，按证件号码自动填写；填写则须与证件号码一致。"),
        FormField("ethnicity", "民族", "choice", choices=_choices(reg.ETHNICITY_CHOICES)),
        FormField("education", "文化程度", "choice", required=True, choices=_choices(EDUCATION_LEVELS)),
        FormField("department", "院系", max_len=100),
        FormField("major", "专业", max_len=100),
        FormField("class_name", "班级", max_len=50),
        FormField("student_no", "学号", max_len=40),
        FormField("enrol_year", "入学年份", "int", min=reg.ENROL_YEAR_MIN, max=2100),
        FormField("phone", "手机号码", max_len=20),
        FormField("remark", "备注", "textarea", max_len=200),
    ),
    create=_create,
    update=_update,
    delete=_delete,
    roles=ADMIN_ROLES,
    create_roles=WRITE_ROLES,
    edit_roles=WRITE_ROLES,
    delete_roles=WRITE_ROLES,
    export_roles=ADMIN_ROLES,
    window=reg.WINDOW,
    page_size=50,
))
