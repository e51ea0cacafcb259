"""No format fact in Python: a report format is data in templates/<format-id>/, never code.

Every installed format (``xlsxgen formats``) is loaded and its facts collected — labels
(headings, sheet names, row/column labels, header paths and corners of the layout,
field labels and hints, rule titles, messages and fixes, instructions, derived-figure
labels, titles) and stable keys (tables, rows, columns, sections, narrative fields,
rule ids, derived figures, the format id). Then every string constant of every
``.py`` file under ``xlsxgen/`` and ``importer/`` is checked, read with :mod:`ast` so
that docstrings and comments (prose) do not count:

* a constant equal to a label or a key is a fact;
* a label of four or more characters inside a constant, or any label in quotes
  (“…” 「…」 《…》 "…") inside one, is a fact.

The few words that a format shares with the tool's own vocabulary are listed below,
each with the reason it is not a format fact.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

SCANNED = ("xlsxgen", "importer")
MIN_CONTAINED = 4  # shorter labels count only when a constant equals them or quotes them
QUOTES = (("“", "”"), ("「", "」"), ("《", "》"), ('"', '"'), ("‘", "’"))

# Labels of a format that are also the tool's own words, used in their generic sense.
GENERIC_WORDS = {
    "其他": "the generic 'other' category (e.g. an unknown rejection reason in collect); also a column label",
    "报告年度": "the tool's word for the reporting year (CLI help, roster, store, JSON schema); a cover label",
    "填报单位": "the tool's word for the submitting agency (CLI help, every sheet's agency line); a cover label",
    "单位代码": "the tool's word for the agency code (roster columns, store, feedback, CLI); a cover label",
    "上年数据": "the tool's phrase for 'last year's data' (findings, CLI, role words); also a sheet name",
    "文字材料": "the tool's phrase for 'the narrative texts' (demo, feedback, template errors); also a sheet name",
    "校验状态": "the importer's word for the status cell's role (tamper findings); also the cover's status label",
}

# Stable keys of a format that are also words of the engine's own vocabulary.
ENGINE_WORDS = {
    "total": "the kind of a computed cell (spec.CELL_KINDS) and a plan role; also a column key",
    "amount": "an input kind (spec.INPUT_KINDS, messages.PROMPTS, data validation); also a column key",
    "change": "the year-over-year helper change() the renderer gives templates; also a column key (本年增/减)",
    "rules": "the top-level section of format.yaml that spec.py reads; also a row key (规章)",
    "other": "the importer's category of an unrecognised file type (safety.py); also a column key",
    "rejected": "a submission status of the collection store; also a derived figure's key",
    "review": "the `xlsxgen review` command (the office's review workflow); also a row key (行政复议)",
    "pending": "a review state of the collection store (待审核); also a column key (尚未审结)",
}

# Real format facts in files outside this change (issue 7); each must be fixed by reading the
# format (spec.sheets / spec.status_label) instead, and then removed from this list.
KNOWN_VIOLATIONS: dict = {}


# ------------------------------------------------------------------------------ the facts


def format_facts() -> tuple[dict[str, str], dict[str, str]]:
    """(labels, keys) of every installed format: text → where it comes from."""
    from xlsxgen.render.derived import derived_of
    from xlsxgen.spec import available_formats
    from xlsxgen.workbook.layout import build_layout

    labels: dict[str, str] = {}
    keys: dict[str, str] = {}

    def label(text, where):
        if isinstance(text, str) and text.strip():
            labels.setdefault(text, where)

    for spec in available_formats():
        f = spec.id
        keys.setdefault(spec.id, f"{f}: format id")
        for text, where in ((spec.title, "title"), (spec.basis, "basis"), (spec.description, "description"),
                            (spec.report_title, "report.title"), (spec.cover_title, "cover.title"),
                            (spec.status_label, "cover.status_label"), (spec.narrative_title, "narrative.title")):
            label(text, f"{f}: {where}")
        for s in spec.sections:
            label(s.heading, f"{f}: report.sections[{s.key}]")
            keys.setdefault(s.key, f"{f}: section key")
        for k, name in spec.sheets.items():
            label(name, f"{f}: sheets.{k}")
        for text in spec.instructions:
            label(text, f"{f}: instructions")
        for fld in spec.cover_fields:  # keys bound to the engine's identity (bind: agency.name …): labels only
            label(fld.label, f"{f}: cover.fields[{fld.key}]")
            label(fld.hint, f"{f}: cover.fields[{fld.key}].hint")
        for fld in spec.narrative_fields:
            label(fld.label, f"{f}: narrative.fields[{fld.key}]")
            label(fld.hint, f"{f}: narrative.fields[{fld.key}].hint")
            keys.setdefault(fld.key, f"{f}: narrative field key")
        for t in spec.tables:
            keys.setdefault(t.key, f"{f}: table key")
            label(t.sheet, f"{f}: tables[{t.key}].sheet")
            label(t.heading, f"{f}: tables[{t.key}].heading")
            for axis, what in ((t.rows, "row"), (t.columns, "column")):
                for a in axis:
                    label(a.label, f"{f}: {t.key} {what} {a.key}")
                    keys.setdefault(a.key, f"{f}: {t.key} {what} key")
            for b in t.blocks:
                label(b.title, f"{f}: {t.key} block title")
                for text in b.corner:
                    label(text, f"{f}: {t.key} corner")
                for hc in b.columns:
                    for text in hc.header:
                        label(text, f"{f}: {t.key} column header")
                for hr in b.rows:
                    for text in hr.header:
                        label(text, f"{f}: {t.key} row header")
            for m in build_layout(t).labels:
                label(m.text, f"{f}: {t.key} layout label")
        for d in spec.rules:
            keys.setdefault(d.id, f"{f}: rule id")
            for text in (d.title, d.message, d.fix):
                label(text, f"{f}: rules[{d.id}]")
        for d in derived_of(spec):
            keys.setdefault(d.key, f"{f}: derived key")
            label(d.label, f"{f}: derived[{d.key}]")
    return labels, keys


# ------------------------------------------------------------------------------ the scanner


def string_constants(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant, f-string parts included; docstrings and bare strings excluded."""
    tree = ast.parse(source)
    prose = {id(node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
             and isinstance(node.value.value, str)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose]


def facts_in(path: str, source: str, labels: dict, keys: dict) -> list[tuple[str, int, str, str, str]]:
    """(path, line, fact, where the fact comes from, the constant) for every fact in ``source``."""
    found = []
    for line, text in string_constants(source):
        if text in keys and text not in ENGINE_WORDS:
            found.append((path, line, text, keys[text], text))
        for lab, where in labels.items():
            if lab in GENERIC_WORDS or lab not in text:
                continue
            if text == lab or len(lab) >= MIN_CONTAINED or any(f"{a}{lab}{b}" in text for a, b in QUOTES):
                found.append((path, line, lab, where, text))
    return found


def scan() -> list[tuple[str, int, str, str, str]]:
    labels, keys = format_facts()
    found = []
    for root in SCANNED:
        for p in sorted((ROOT / root).rglob("*.py")):
            found += facts_in(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"), labels, keys)
    return found


# ------------------------------------------------------------------------------ the tests


@pytest.fixture(scope="module")
def found():
    return scan()


def test_no_format_fact_in_python_code(found):
    new = [f for f in found if (f[0], f[2]) not in KNOWN_VIOLATIONS]
    assert not new, "format facts in Python code (move them to templates/<format>/):\n" + "\n".join(
        f"  {path}:{line}: {fact!r} ({where}) in {text!r}" for path, line, fact, where, text in new)


def test_known_violations_are_still_there(found):
    """An entry of KNOWN_VIOLATIONS that no longer matches must be removed (the list only shrinks)."""
    stale = set(KNOWN_VIOLATIONS) - {(f[0], f[2]) for f in found}
    assert not stale, f"fixed — remove from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_the_facts_cover_every_installed_format():
    from xlsxgen.spec import available_formats

    labels, keys = format_facts()
    specs = available_formats()
    assert len(specs) >= 2
    for spec in specs:
        assert spec.id in keys
        for t in spec.tables:
            assert t.key in keys and t.heading in labels and t.sheet in labels
            assert all(a.key in keys and a.label in labels for a in t.rows + t.columns)
        assert all(d.title in labels for d in spec.rules)
    # the allow-lists hold only real facts of an installed format (nothing to hide behind)
    assert set(GENERIC_WORDS) <= set(labels)
    assert set(ENGINE_WORDS) <= set(keys)


def test_the_scanner_finds_planted_facts():
    """The scanner can fail: facts of either version planted in code are found; prose is not."""
    from xlsxgen.spec import available_formats

    labels, keys = format_facts()
    planted = []
    for spec in available_formats():
        t = spec.tables[-1]
        row = next(a for a in t.rows if a.key not in ENGINE_WORDS)
        col = next(a for a in t.columns if a.key not in ENGINE_WORDS)
        sheet = spec.sheets["cover"]
        planted += [row.label, row.key, col.key, t.key, spec.id, spec.rules[0].id, sheet]
        source = (
            f'"""Module docstring naming {row.label} and {row.key}: prose, not a fact."""\n'
            f"def f(values):\n"
            f'    """Reads {t.key}.{row.key}."""\n'
            f"    # a comment about {col.label}\n"
            f'    a = values[({t.key!r}, {row.key!r}, {col.key!r})]\n'
            f"    b = {row.label!r}\n"
            f'    c = f"请查看“{sheet}”工作表：{{a}}"\n'
            f"    d = load_format({spec.id!r}), {spec.rules[0].id!r}\n"
            f"    return a, b, c, d\n"
        )
        hits = facts_in("planted.py", source, labels, keys)
        got = {fact for _, _, fact, _, _ in hits}
        assert {row.label, row.key, col.key, t.key, spec.id, spec.rules[0].id, sheet} <= got, (spec.id, got)
        assert all(line >= 5 for _, line, _, _, _ in hits)  # nothing from the docstrings or the comment
    assert len(set(planted)) > 7  # facts of both versions were planted
