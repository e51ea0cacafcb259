"""Published reports (HTML pages, Word, PDF, text) read into canonical data — never inventing a number.

Public API::

    is_published(path) -> bool                     # .html .htm .docx .pdf .txt .md
    extract(path_or_bytes, *, name=None, kind=None, format_id=None, year=None, agency=None) -> PublishedResult
    lint(result, previous=None) -> PublishedResult  # identities and rules on the figures as published
    load_published(path, *, previous=None, ...) -> PublishedResult   # extract + lint

How a source is read (structure first): HTML tables (lxml, spans expanded), Word
tables (python-docx, gridSpan/vMerge), PDF ruled tables (pdfplumber), and for
every statutory table not found as a table, the text (page text, PDF text lines,
a ``.txt``/``.md`` file). Rows are mapped by the format's labels, columns by the
layout's header paths; a run of glued digits is split only when the format's
identities make the split unique. A blank cell stays ``None`` (reported), never 0;
every number carries where it was read (``provenance``). See docs/importer.md.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from importer.findings import Unreadable, make
from importer.published.labels import labels_of, norm
from importer.published.lint import lint
from importer.published.model import Extraction
from importer.published.result import PublishedResult
from importer.result import ImportResult
from importer.safety import DEFAULT_LIMITS, Limits, read_file

SUFFIXES = {".html": "html", ".htm": "html", ".xhtml": "html", ".docx": "docx", ".pdf": "pdf", ".txt": "text",
            ".md": "text", ".markdown": "text", ".text": "text"}

__all__ = ["SUFFIXES", "PublishedResult", "is_published", "extract", "lint", "load_published", "load_any"]


def is_published(path) -> bool:
    return Path(str(path)).suffix.lower() in SUFFIXES


# ------------------------------------------------------------------------------ extraction


def _kind_of(name: str, kind: str | None) -> str:
    if kind:
        return kind
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Unreadable("extract.unsupported", suffix=suffix or "（无扩展名）")
    return SUFFIXES[suffix]


def _check_signature(data: bytes, kind: str) -> None:
    if not data:
        raise Unreadable("file.empty")
    if kind == "docx" and not data.startswith(b"PK"):
        raise Unreadable("extract.bad_file", type="Word（.docx）", detail="不是 .docx 文件（可能是旧版 .doc 或改了扩展名）")
    if kind == "pdf" and b"%PDF" not in data[:1024]:
        raise Unreadable("extract.bad_file", type="PDF", detail="文件开头没有 PDF 标记")
    if kind in ("html", "text"):
        head = data[:4096]
        if b"\x00" in head.replace(b"\x00\x00", b"") and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise Unreadable("extract.bad_file", type="文本" if kind == "text" else "网页",
                             detail="内容是二进制数据，不是文本")


def _decode_text(data: bytes) -> str:
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _read(data: bytes, kind: str):
    """(grids, Located text, title) of a source."""
    needed = {"html": "lxml", "pdf": "pdfplumber", "docx": "docx"}.get(kind)
    if needed:
        if not _installed(needed):
            raise Unreadable("extract.missing_library", type=_TYPE_NAMES[kind],
                             package={"docx": "python-docx"}.get(needed, needed))
    return _read_kind(data, kind)


@functools.lru_cache(maxsize=8)
def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _read_kind(data: bytes, kind: str):
    from importer.published import text as textmod

    if kind == "html":
        from importer.published import html

        try:
            doc = html.parse(data)
        except ValueError as e:
            raise Unreadable("extract.bad_file", type="网页", detail=str(e)) from None
        return html.grids(doc), textmod.Located(lambda: html.page_text(doc), kind="html"), html.title(doc)
    if kind == "docx":
        from importer.published import docx

        try:
            grids, body, title = docx.read(data)
        except Exception as e:  # noqa: BLE001 - python-docx raises many kinds for a broken package
            raise Unreadable("extract.bad_file", type="Word（.docx）", detail=_short(e)) from None
        return grids, textmod.Located(body, kind="docx"), title
    if kind == "pdf":
        from importer.published import pdf

        try:
            grids, body, pages, title = pdf.read(data)
        except Exception as e:  # noqa: BLE001 - pdfminer raises many kinds for a broken file
            raise Unreadable("extract.bad_file", type="PDF", detail=_short(e)) from None
        return grids, textmod.Located(body, pages=pages, kind="pdf"), title
    body = _decode_text(data)
    return [], textmod.Located(body, kind="text"), _first_line(body)


def _short(e: Exception) -> str:
    s = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}{'：' + s[:120] if s else ''}"


def _first_line(text: str) -> str:
    for ln in text.splitlines():
        if ln.strip():
            return ln.strip()[:200]
    return ""


@functools.lru_cache(maxsize=16)
def _title_pattern(spec):
    """A regex for the report title, built from the format's ``report.title`` (``{agency}{year}年…``)."""
    tmpl = spec.report_title
    if "{agency}" not in tmpl or "{year}" not in tmpl:
        return None
    after = tmpl.split("{year}", 1)[1]
    tail = norm(after)[1:] if after else ""
    if len(tail) < 4:
        return None
    return re.compile(r"(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)\s*(?P<year>(?:19|20)\d\d)\s*年度?\s*"
                      + r"\s*".join(map(re.escape, tail)))


_YEAR_NIAN = re.compile(r"(?:19|20)\d\d\s*年")


def _identity(spec, title: str, located, name: str):
    """(agency, year, where) from the title, the page's first lines, then the file name."""
    pat = _title_pattern(spec)
    if pat is not None:
        m = pat.search(title or "")
        if m is None:
            body = located.text[:5000]
            tail = spec.report_title.split("{year}", 1)[1][1:3]  # the title's first words after the year
            at = body.find(tail)
            while m is None and at >= 0:  # the regex only where the title's words are
                window = body[max(0, at - 60): at + 40]
                if _YEAR_NIAN.search(window):  # the title has a year followed by 年: without one, no match
                    m = pat.search(window)
                at = body.find(tail, at + 1)
        if m:
            return m.group("agency"), int(m.group("year")), "title"
    m = re.search(r"(?<!\d)((?:19|20)\d\d)(?!\d)", Path(name).stem)
    return "", (int(m.group(1)) if m else None), "name"


def _choose_format(doc_ctext: str, year: int | None, format_id: str | None, formats=None):
    from xlsxgen.spec import available_formats, load_format

    if format_id:
        return load_format(format_id), "given"
    best, best_score = None, -1
    formats = tuple(available_formats() if formats is None else formats)
    needles, scoring = _format_needles(formats)
    present = [v in doc_ctext for v in needles]  # each label looked for once, whichever formats share it
    for spec, (rows, cols) in zip(formats, scoring):
        # a row counts when one of its labels is there, a column when its header is
        score = sum(1 for row in rows if any(present[i] for i in row)) + sum(1 for i in cols if present[i])
        in_years = year is not None and spec.years[0] <= year <= spec.years[1]
        key = (score, in_years)
        if best is None or key > best_score:
            best, best_score = spec, key
    return best, "labels"


@functools.lru_cache(maxsize=8)
def _format_needles(formats: tuple) -> tuple[list[str], list[tuple]]:
    """The labels :func:`_choose_format` looks for (each once) and, per format, its rows (the indexes of a
    row's label variants) and its columns (the index of each column's header; one per column)."""
    needles: dict[str, int] = {}
    scoring = []
    for spec in formats:
        rows, cols = [], []
        for tl in labels_of(spec).values():
            for r in tl.rows:
                rows.append(tuple(needles.setdefault(v, len(needles)) for v in r.leaves))
            for block in tl.columns:
                for c in block:
                    if c.path:
                        cols.append(needles.setdefault(c.path[-1], len(needles)))
        scoring.append((rows, cols))
    return list(needles), scoring


def extract(path_or_bytes, *, name: str | None = None, kind: str | None = None, format_id: str | None = None,
            year: int | None = None, agency: str | None = None, limits: Limits = DEFAULT_LIMITS) -> PublishedResult:
    """Read one published report. Never raises: a file that cannot be read is ``status == "unreadable"``."""
    label = name or (str(path_or_bytes) if not isinstance(path_or_bytes, (bytes, bytearray)) else "<bytes>")
    try:
        return _extract(path_or_bytes, label, kind, format_id, year, agency, limits)
    except Unreadable as u:
        return PublishedResult(label, "published", findings=[u.finding], unreadable=u.finding, kind=kind or "")
    except MemoryError:
        f = make("file.internal_error", detail="内存不足")
        return PublishedResult(label, "published", findings=[f], unreadable=f)
    except Exception as e:  # noqa: BLE001 - the contract: no input may crash the program
        f = make("file.internal_error", detail=f"{type(e).__name__}: {e}")
        return PublishedResult(label, "published", findings=[f], unreadable=f)


def _extract(src, label, kind, format_id, year, agency, limits) -> PublishedResult:
    from importer.published.grid import map_grids
    from importer.published.text import map_text
    from xlsxgen.data import Submission

    kind = _kind_of(label, kind)
    data = bytes(src) if isinstance(src, (bytes, bytearray)) else read_file(src, limits)
    _check_signature(data, kind)
    grids, located, title = _read(data, kind)
    # the labels the source holds: its tables' cells when it has tables, else its text
    seen = "".join(s.n for g in grids for row in g.rows for s in row if s.origin) if grids else ""
    if len(seen) < 200:
        seen = located.ctext
    spec = None
    if format_id is None:
        from xlsxgen.spec import available_formats

        formats = available_formats()  # once: it looks at the template folders
        # the year decides between formats only when their labels fit the source equally well
        first = _any_spec(formats)
        ident = _identity(first, title, located, label)
        spec, _how = _choose_format(seen, year or ident[1], None, formats)
        if spec is not first:
            ident = _identity(spec, title, located, label)
    else:
        spec, _how = _choose_format(seen, year, format_id)
        ident = _identity(spec, title, located, label)
    t_agency, t_year, where = ident
    ex = Extraction(spec, label, kind, title=title)
    if grids:
        map_grids(grids, ex)
    missing_tables = {t.key for t in spec.tables if t.key not in ex.tables_found}
    if missing_tables:
        map_text(located, ex, only=missing_tables)
    if not ex.tables_found:
        raise Unreadable("extract.no_tables", type=_TYPE_NAMES.get(kind, kind))
    _report_missing(ex)

    sub = Submission(spec.id, year=year or t_year, agency_name=(agency or t_agency or "").strip())
    res = PublishedResult(label, "published", spec=spec, submission=sub, kind=kind, title=title)
    if not agency and not t_agency:
        ex.findings.insert(0, make("extract.no_agency"))
    if not year and t_year is None:
        ex.findings.insert(0, make("extract.no_year"))
    elif not year and where == "name":
        ex.findings.insert(0, make("extract.year_from_name", year=t_year))
    published = {}
    values = ex.values
    for key, total in _cells_of(spec):
        v = values.get(key)
        published[key] = v
        if v is None:
            res.unreliable.add(key)
        elif total:
            res.claimed[key] = v
        else:
            sub.values[key] = v
    res.published = published
    res.provenance = dict(ex.prov)
    res.findings = ex.findings
    res.splits = dict(ex.splits)
    return res


_TYPE_NAMES = {"html": "网页", "docx": "Word 文档", "pdf": "PDF 文件", "text": "文本文件"}


@functools.lru_cache(maxsize=16)
def _cells_of(spec) -> tuple:
    """((table, row, column), is a total) of every cell of the format, in order."""
    return tuple(((t.key, rk, ck), t.kinds.get((rk, ck)) == "total") for t in spec.tables for rk, ck in t.cells)


def _any_spec(formats=None):
    from xlsxgen.spec import available_formats

    return max(available_formats() if formats is None else formats, key=lambda s: s.years[0])


def _report_missing(ex: Extraction) -> None:
    spec = ex.spec
    for t in spec.tables:
        if t.key not in ex.tables_found:
            ex.add("extract.table_missing", None, None, heading=t.heading, table=t.key)
            continue
        by_row: dict[str, list[str]] = {}
        for rk, ck in t.cells:
            if (t.key, rk, ck) not in ex.values:
                by_row.setdefault(rk, []).append(ck)
        for rk, cols in by_row.items():
            n_row = sum(1 for r, _c in t.cells if r == rk)
            if len(cols) == n_row:
                ex.add("extract.row_missing", None, None, place=ex.row_place(t.key, rk), table=t.key, row=rk)
            else:
                for ck in cols:
                    ex.add("extract.cell_missing", (t.key, rk, ck), None)


def load_published(path, *, previous=None, limits: Limits = DEFAULT_LIMITS, **kw) -> PublishedResult:
    """Extract and lint one published source (``previous``: ImportResult, Submission, or a path)."""
    if isinstance(previous, (str, Path)):
        from importer import load_source

        previous = load_published(previous, limits=limits) if is_published(previous) else load_source(previous)
    res = extract(path, limits=limits, **kw)
    if res.status == "unreadable":
        return res
    try:
        return lint(res, previous if previous is not None and getattr(previous, "submission", 1) is not None
                    else None)
    except Exception as e:  # noqa: BLE001 - keep what was read, report the error
        res.findings.append(make("file.internal_error", detail=f"{type(e).__name__}: {e}"))
        res.validated = True
        return res


def load_any(path, *, previous=None, limits: Limits = DEFAULT_LIMITS, **kw) -> ImportResult:
    """A published report (extract + lint) or, for any other path, :func:`importer.load_source`."""
    from importer import load_source

    if isinstance(previous, (str, Path)):
        previous = load_any(previous, limits=limits)
        if previous.submission is None:
            previous = None
    if is_published(path):
        return load_published(path, previous=previous, limits=limits, **kw)
    return load_source(path, previous=previous, limits=limits)
