"""审计日志: who did what, when, in the actor's org scope (read-only, exportable)."""
from core.specs.audit import AUDIT_LOG
from core.ui.entity_page import entity_page

entity_page(AUDIT_LOG)
