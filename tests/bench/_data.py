"""Generators of big, valid import files (集体报名 xlsx in a ZIP, 学籍 xlsx, photo ZIPs) for the benchmarks
and the CLI tests. People come from core.services.demo.DemoPeople (valid ID numbers, names, phones, e-mails)."""
from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from core.services.demo import DEMO_SEED, DemoPeople


def group_people(n: int, subject_codes: Sequence[str], *, seed: int = DEMO_SEED, province: str = "11",
                 max_subjects: int = 3, class_options: Sequence[str] = ()) -> list[dict[str, Any]]:
    """n valid 集体报名 rows (dicts keyed like core.imports.specs_group.COLUMNS; 'subjects' is '14;26')."""
    rnd = random.Random(seed)
    gen = DemoPeople(rnd)
    weights = [max(1.0, 10.0 - i) for i in range(len(subject_codes))]
    out = []
    for i in range(n):
        p = gen.person(province)
        k = min(rnd.choices((1, 2, 3), (70, 23, 7))[0], max_subjects, len(subject_codes))
        codes: list[str] = []
        while len(codes) < k:
            c = rnd.choices(subject_codes, weights)[0]
            if c not in codes:
                codes.append(c)
        student_no = f"2024{i:07d}"
        p.update(email=gen.email(p["phone"], student_no), department="计算机学院", major="软件工程",
                 class_name=rnd.choice(class_options) if class_options else f"软件24{i % 9 + 1:02d}班",
                 student_no=student_no, postcode="100081", subjects=";".join(codes))
        out.append(p)
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, constant_memory: bool = True) -> bytes:
    """An xlsx with every cell written as TEXT (IDs and phones stay text), fast (xlsxwriter constant_memory)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": constant_memory, "in_memory": True})
    ws = wb.add_worksheet(sheet)
    for c, h in enumerate(header):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            text = _cell(v)
            if text:
                ws.write_string(r, c, text)
    wb.close()
    return buf.getvalue()


def group_xlsx(people: Sequence[Mapping[str, Any]]) -> bytes:
    """The 集体报名信息 sheet (every column of GROUP_SPEC, in the template's order)."""
    from core.imports.specs_group import COLUMNS, GROUP_SPEC

    return xlsx_bytes(GROUP_SPEC.sheet_name, [c.label for c in COLUMNS],
                      ([p.get(c.key) for c in COLUMNS] for p in people))


def registry_xlsx(people: Sequence[Mapping[str, Any]]) -> bytes:
    """The 学籍信息模板 sheet of 学籍数据导入."""
    from core.imports.specs_registry import REGISTRY_COLUMNS, SHEET

    return xlsx_bytes(SHEET, [c.label for c in REGISTRY_COLUMNS],
                      ([p.get(c.key) for c in REGISTRY_COLUMNS] for p in people))


def zipped(members: Mapping[str, bytes], *, stored: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def group_zip(people: Sequence[Mapping[str, Any]], name: str = "集体报名信息.xlsx") -> bytes:
    return zipped({name: group_xlsx(people)})


def jpeg(seed: int = 0, size: tuple[int, int] = (144, 192)) -> bytes:
    """A small valid JPEG (a plain colour per seed)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, ((seed * 40) % 256, (seed * 90) % 256, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def photo_zip(id_numbers: Iterable[str], extra: Mapping[str, bytes] | None = None) -> bytes:
    """A photo ZIP: <证件号码>.jpg for each number (a handful of distinct images), plus `extra` members."""
    images = [jpeg(i) for i in range(4)]
    members = {f"{n}.jpg": images[i % len(images)] for i, n in enumerate(id_numbers)}
    members.update(extra or {})
    return zipped(members, stored=True)
