"""Declared entity pages (core.admin.EntitySpec), one module per domain.

Each module here builds its specs with `core.admin.register(...)`; `load_all()` imports every
module of this package so `core.admin.check_all()` sees all of them (start-up check and a test).
A page imports its spec from here and calls `core.ui.entity_page.entity_page(spec)`.
"""
from __future__ import annotations

import importlib
import pkgutil


def load_all() -> list[str]:
    """Import every spec module of this package; returns their names."""
    names = []
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")
            names.append(m.name)
    return names
