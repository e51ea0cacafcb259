"""Seeded mutation of real filled workbooks, for the fuzz test (issue 11).

:func:`mutants` yields ``(label, bytes, expect)`` for ``n`` mutants of the given
base workbooks. ``expect`` says what an import reported ok *with no finding*
must give for the figures:

* ``None`` — the figures of the base workbook (a mutation that changes no
  number a spreadsheet would show: re-spelled numbers, structure noise);
* ``{key: value}`` — those figures changed to what a spreadsheet shows for
  the mutated cell (e.g. ``1e-400`` is 0).

Generic mutations (byte flips, deleted elements and attributes, swapped
types, truncated parts, formulas) never turn one digit into another, so a
clean import of them must keep the base figures: any difference is a number
changed silently — the worst outcome.
"""

from __future__ import annotations

import random
import re

from tests.hostile import make_zip, sheet_part, zip_parts

# (stored text, cell type or None, what a spreadsheet shows: "same" = the original number, a number, or None
# = not a number the import may take without a finding)
VALUE_VARIANTS = [
    ("{v}.0", None, "same"), ("{v}e0", None, "same"), ("+{v}", None, "same"), ("0{v}", None, "same"),
    ("{v}.000000000000001", None, "same"), ("{v}E+0", None, "same"), ("{v}.0000000000000000000000000001", None, "same"),
    ("9" * 401, None, None), ("9" * 5000, None, None), ("1e308", None, None), ("1.79e308", None, None),
    ("-1e308", None, None), ("²", None, None), ("１２", None, None), ("١٢", None, None), ("1_000", None, None),
    ("NaN", None, None), ("inf", None, None), ("-inf", None, None), ("0x1A", None, None), (" {v}\n", None, "same"), (".5e1", None, 5), ("{v}.", None, "same"),
    ("1,000", None, None), ("12.5", None, None), ("-3", None, None), ("1000000001", None, None),
    ("1e9", None, None), ("0.1234567", None, None), ("\u00a012", None, None), ("12", "zzz", None),
    ("1", "b", None), ("#REF!", "e", None), ("2024-01-01", "d", None), ("1e-400", None, 0),
    ("{v}", "str", "same"), ("1" + "0" * 30, None, None), ("12" * 20000, None, None),
]
FORMULAS = ["100", "1+1", "SUM(A1:A2)", "'其他'!A1", "", "HYPERLINK(\"http://x\",\"1\")"]
XML_PARTS_HINT = ("xl/worksheets/", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml",
                  "xl/_rels/workbook.xml.rels", "[Content_Types].xml")
_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"[^>]*?(?:/>|>.*?</c>)', re.S)
_DIGIT = frozenset(b"0123456789")


class Base:
    """One filled workbook: its bytes, parts, input cells (sheet, A1, key, kind, value) and figures."""

    def __init__(self, spec, data: bytes, figures: dict):
        from xlsxgen.workbook.plan import build_plan

        self.spec = spec
        self.data = data
        self.parts = zip_parts(data)
        self.figures = figures
        plan = build_plan(spec, False)
        self.inputs = [c for c in plan.cells if c.role == "input"]
        self.sheet_parts = {sp.name: sheet_part(data, sp.name) for sp in plan.sheets if sp.kind != "meta"}


def _value_of(base: Base, cell) -> int | float:
    return base.figures.get(cell.key, 0)


def _mutate_value(rnd: random.Random, base: Base):
    cell = rnd.choice(base.inputs)
    text, typ, shows = rnd.choice(VALUE_VARIANTS)
    v = _value_of(base, cell)
    vt = repr(v) if isinstance(v, float) else str(v)
    text = text.replace("{v}", vt)
    part = base.sheet_parts[cell.sheet]
    xml = base.parts[part].decode("utf-8")
    t = f' t="{typ}"' if typ else ""
    new_cell = f'<c r="{cell.address}"{t}><v>{_xml_escape(text)}</v></c>'
    pat = re.compile(r'<c r="' + cell.address + r'"[^>]*?(?:/>|>.*?</c>)', re.S)
    if not pat.search(xml):
        return None
    parts = dict(base.parts)
    parts[part] = pat.sub(lambda m: new_cell, xml, count=1).encode("utf-8")
    if shows == "same":
        expect = None
    elif shows is None:
        expect = "finding"  # no clean import may take it
    else:
        expect = {cell.key: shows}
    return f"value {cell.sheet}!{cell.address}={text[:20]!r} t={typ}", make_zip(parts), expect


def _mutate_formula(rnd: random.Random, base: Base):
    cell = rnd.choice(base.inputs)
    part = base.sheet_parts[cell.sheet]
    xml = base.parts[part].decode("utf-8")
    pat = re.compile(r'(<c r="' + cell.address + r'"[^>]*?)(/>|>(.*?)</c>)', re.S)
    m = pat.search(xml)
    if not m:
        return None
    f = rnd.choice(FORMULAS)
    v = _value_of(base, cell)
    cached = rnd.choice([str(v), "5", "0"])
    new = f'{m.group(1).rstrip("/")}><f>{_xml_escape(f)}</f><v>{cached}</v></c>'
    parts = dict(base.parts)
    parts[part] = (xml[:m.start()] + new + xml[m.end():]).encode("utf-8")
    return f"formula {cell.sheet}!{cell.address} ={f}", make_zip(parts), "finding"


def _fix_total(rnd: random.Random, base: Base):
    """Replace a formula cell (a total or check) with a fixed, odd value."""
    name = rnd.choice(list(base.sheet_parts.values()))
    text = base.parts[name].decode("utf-8")
    cells = [m for m in _CELL.finditer(text) if "<f>" in m.group(0)]
    if not cells:
        return None
    m = rnd.choice(cells)
    v = rnd.choice(["1e999", "-1e999", "NaN", "9" * 400, "5", "", "#REF!"])
    typ = ' t="e"' if v == "#REF!" else ""
    new = f'<c r="{m.group(1)}"{typ}><v>{v}</v></c>' if v else f'<c r="{m.group(1)}"/>'
    parts = dict(base.parts)
    parts[name] = (text[:m.start()] + new + text[m.end():]).encode("utf-8")
    return f"fixed {name} {m.group(1)}={v[:10]!r}", make_zip(parts), "finding"


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _xml_part(rnd: random.Random, base: Base) -> str:
    names = [n for n in base.parts if n.startswith(XML_PARTS_HINT)]
    return rnd.choice(names)


def _flip_byte(rnd: random.Random, base: Base):
    name = _xml_part(rnd, base)
    body = bytearray(base.parts[name])
    for _ in range(20):
        i = rnd.randrange(len(body))
        if body[i] in _DIGIT:
            continue
        b = rnd.choice([0x00, 0x20, 0x22, 0x26, 0x3C, 0x3E, 0x2F, 0x41, 0x7A, 0xFF, 0xC3, 0x5F, rnd.randrange(256)])
        if b in _DIGIT:
            continue
        body[i] = b
        parts = dict(base.parts)
        parts[name] = bytes(body)
        return f"flip {name}@{i}={b:#x}", make_zip(parts), None
    return None


def _delete_span(rnd: random.Random, base: Base):
    """Delete one element (start tag to its end) or one attribute of a part."""
    name = _xml_part(rnd, base)
    text = base.parts[name].decode("utf-8", "replace")
    if rnd.random() < 0.5:
        attrs = list(re.finditer(r' [A-Za-z:]+="[^"]*"', text))
        if not attrs:
            return None
        m = rnd.choice(attrs)
        what = f"attr {m.group(0)[:30]!r}"
    else:
        tags = list(re.finditer(r"<([A-Za-z:]+)[^>]*?(?:/>|>.*?</\1>)", text, re.S))
        if not tags:
            return None
        m = rnd.choice(tags)
        what = f"element {m.group(0)[:30]!r}"
    parts = dict(base.parts)
    parts[name] = (text[:m.start()] + text[m.end():]).encode("utf-8")
    return f"delete {name} {what}", make_zip(parts), None


def _retype(rnd: random.Random, base: Base):
    """Change the t= of a random cell (any sheet)."""
    name = rnd.choice([p for p in base.parts if p.startswith("xl/worksheets/")])
    text = base.parts[name].decode("utf-8")
    cells = list(_CELL.finditer(text))
    if not cells:
        return None
    m = rnd.choice(cells)
    c = m.group(0)
    typ = rnd.choice(["", "s", "str", "inlineStr", "b", "e", "n", "d", "zzz"])
    c2 = re.sub(r' t="[^"]*"', "", c, count=1)
    if typ:
        c2 = c2.replace("<c ", f'<c t="{typ}" ', 1)
    if c2 == c:
        return None
    parts = dict(base.parts)
    parts[name] = (text[:m.start()] + c2 + text[m.end():]).encode("utf-8")
    return f"retype {name} {m.group(1)} t={typ}", make_zip(parts), None


def _truncate_part(rnd: random.Random, base: Base):
    name = _xml_part(rnd, base)
    body = base.parts[name]
    parts = dict(base.parts)
    parts[name] = body[: rnd.randrange(len(body))]
    return f"truncate {name}", make_zip(parts), None


def _duplicate_row(rnd: random.Random, base: Base):
    name = rnd.choice([p for p in base.parts if p.startswith("xl/worksheets/")])
    text = base.parts[name].decode("utf-8")
    rows = list(re.finditer(r"<row [^>]*>.*?</row>", text, re.S))
    if not rows:
        return None
    m = rnd.choice(rows)
    parts = dict(base.parts)
    parts[name] = (text[:m.end()] + m.group(0) + text[m.end():]).encode("utf-8")
    return f"duplicate row in {name}", make_zip(parts), None


def _encoding(rnd: random.Random, base: Base):
    name = _xml_part(rnd, base)
    text = base.parts[name].decode("utf-8")
    enc = rnd.choice(["x", "UTF-16", "latin-1", "ascii", "GBK", ""])
    new = re.sub(r'encoding="[^"]*"', f'encoding="{enc}"', text, count=1)
    if new == text:
        return None
    parts = dict(base.parts)
    parts[name] = new.encode("utf-8")
    return f"encoding {name}={enc}", make_zip(parts), None


def _raw_zip(rnd: random.Random, base: Base):
    data = bytearray(base.data)
    if rnd.random() < 0.5:
        return "zip truncated", bytes(data[: rnd.randrange(len(data))]), None
    for _ in range(rnd.randint(1, 4)):
        data[rnd.randrange(len(data))] = rnd.randrange(256)
    return "zip bytes flipped", bytes(data), None  # CRC-32 guards every part


MUTATORS = [(_mutate_value, 5), (_mutate_formula, 2), (_fix_total, 1), (_flip_byte, 4), (_delete_span, 4), (_retype, 2),
            (_truncate_part, 1), (_duplicate_row, 1), (_encoding, 1), (_raw_zip, 1)]


def mutants(bases: list[Base], n: int, seed: int):
    """``n`` mutants ``(label, bytes, expect, base)`` of ``bases``, reproducible from ``seed``."""
    rnd = random.Random(seed)
    funcs = [f for f, w in MUTATORS for _ in range(w)]
    made = 0
    while made < n:
        base = rnd.choice(bases)
        func = rnd.choice(funcs)
        state = rnd.getstate()
        out = func(rnd, base)
        if out is None:
            continue
        label, data, expect = out
        made += 1
        yield f"#{made} {label}", data, expect, base, state
