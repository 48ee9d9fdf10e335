"""Export writers (xlsx / csv here; dbf / pdf / zip writers live beside it). Formula-injection safe."""
from core.exports.tabular import (  # noqa: F401
    FORMULA_PREFIXES,
    XLSX_MAX_ROWS,
    csv_encoding,
    is_formula_like,
    safe_cell,
    unsafe_cell,
    write_csv,
    write_xlsx,
)
