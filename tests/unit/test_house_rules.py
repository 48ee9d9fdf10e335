"""House rules of DESIGN.md, checked on the source: they keep holding as the project grows."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITE_NAME = re.compile(r"(save|set|add|delete|clear|apply|update|create|reset|import|submit|transition)_")
# services whose writes are audited by their caller or are not user actions
NOT_AUDITED = {"setup.py", "demo.py", "tree.py"}


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}


def _calls(fn: ast.FunctionDef, funcs: dict, seen: set) -> set[str]:
    out: set[str] = set()
    for n in ast.walk(fn):
        if isinstance(n, ast.Call):
            name = n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", None)
            out.add(name)
            if name in funcs and name not in seen:
                seen.add(name)
                out |= _calls(funcs[name], funcs, seen)
    return out


def test_every_write_service_writes_the_audit_log():
    missing = []
    for path in sorted((ROOT / "core" / "services").glob("*.py")):
        if path.name in NOT_AUDITED:
            continue
        funcs = _functions(path)
        for name, fn in funcs.items():
            if WRITE_NAME.match(name) and not {"audit", "ensure_audited"} & _calls(fn, funcs, set()):
                missing.append(f"{path.name}:{name}")
    assert missing == []


def test_core_outside_ui_never_imports_streamlit():
    bad = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py")
           if "ui" not in p.relative_to(ROOT / "core").parts[:1]
           and re.search(r"^\s*(import streamlit|from streamlit)", p.read_text(), re.M)]
    assert bad == []


def test_pages_never_build_queries():
    bad = [str(p.relative_to(ROOT)) for p in (ROOT / "pages").rglob("*.py")
           if re.search(r"sessionmaker|session_scope|Session\(|\bselect\(|\.execute\(", p.read_text())]
    assert bad == []


def test_no_unsafe_html_outside_tests():
    bad = [str(p.relative_to(ROOT)) for p in list((ROOT / "core").rglob("*.py")) + list((ROOT / "pages").rglob("*.py"))
           if re.search(r"unsafe_allow_html\s*=\s*True|st\.html\(", p.read_text())]
    assert bad == []
