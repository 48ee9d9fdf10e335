"""The one import engine: declare an ImportSpec, then `run_import` (dry run, then commit).

Specs live next to their domain (e.g. `core.imports.specs_users.USERS_SPEC`); pages render them
with `core.ui.import_panel.import_panel`.
"""
from core.imports.engine import (  # noqa: F401
    ALL_OR_NOTHING,
    MODE_LABELS,
    ONLY_VALID,
    ImportColumn,
    ImportContext,
    ImportIssue,
    ImportResult,
    ImportRow,
    ImportSpec,
    id_check_char,
    normalise_choices,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_email,
    parse_id_number,
    parse_int,
    parse_phone,
    parse_text,
    run_import,
    template_bytes,
)
from core.imports.readers import Grid, ImportFileError, read_grid  # noqa: F401
from core.imports.template import build_template, error_report_xlsx  # noqa: F401
