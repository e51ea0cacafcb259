"""Read canonical JSON from an untrusted source: every problem a finding with table/row/column.

The canonical form is documented in ``docs/canonical-json.md`` (and as a JSON
Schema, :mod:`importer.schema`). On input totals may be omitted; a total that
is present is compared with our recomputation by the validator. Figures go
through :mod:`importer.values` exactly like workbook cells (numbers as text
are accepted with a warning, and so on).
"""

from __future__ import annotations

import json
from decimal import Decimal

from importer.findings import Unreadable, make
from importer.result import ImportResult
from importer.safety import DEFAULT_LIMITS, Limits, human_size
from importer.validate import Locator, value_finding
from importer.values import BigNumber, read_json_value
from xlsxgen.data import Submission, set_bound
from xlsxgen.errors import SpecError
from xlsxgen.numbers import Written
from xlsxgen.spec import available_formats, load_format
from xlsxgen.spec.versions import resolve_format

TOP_LEVEL = ("format", "agency", "year", "tables", "narrative", "contact", "$schema",
             "source", "provenance")  # the last two: written by `xlsxgen extract` (importer.published)


def _type_name(v) -> str:
    if v is None:
        return "空值 null"
    if isinstance(v, bool):
        return "逻辑值"
    if isinstance(v, (int, float, BigNumber)):
        return "数字"
    if isinstance(v, str):
        return "文字"
    if isinstance(v, list):
        return "数组"
    if isinstance(v, dict):
        return "对象"
    return type(v).__name__


def parse_json_bytes(data: bytes, limits: Limits = DEFAULT_LIMITS):
    """(document, duplicate keys) of untrusted JSON bytes; Unreadable when it does not parse."""
    if not data:
        raise Unreadable("file.empty")
    if len(data) > limits.max_json_size:
        raise Unreadable("file.too_large", size=human_size(len(data)), limit=human_size(limits.max_json_size))
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("file.json_malformed", detail="不是 UTF-8 编码的文本") from None
    duplicates: list[str] = []

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                duplicates.append(k)
            out[k] = v
        return out

    def no_constant(name):
        raise ValueError(f"不允许的数值 {name}")

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant, parse_int=_json_int,
                         parse_float=_json_float)
    except json.JSONDecodeError as e:
        raise Unreadable("file.json_malformed", detail=f"第{e.lineno}行第{e.colno}列：{_json_error(e.msg)}") from None
    except RecursionError:  # the C scanner refuses deep nesting with RecursionError
        raise Unreadable("file.json_malformed", detail="嵌套层数过多") from None
    except ValueError as e:
        raise Unreadable("file.json_malformed", detail=str(e) if "不允许" in str(e) else "内容无效") from None
    if not isinstance(doc, dict):
        raise Unreadable("file.json_not_object", actual=_type_name(doc))
    return doc, duplicates


MAX_NUMBER_DIGITS = 30  # longer JSON numbers are kept as text and refused as out of range (never int()/float())
MAX_TEXT = 32767  # Excel's limit on the text of one cell


def _json_int(text: str):
    return int(text) if len(text) <= MAX_NUMBER_DIGITS else BigNumber(text)


def _json_float(text: str):
    """A JSON number with a fraction or exponent: a float when the float is exactly that number (as its shortest
    form), else its text, read exactly by :func:`importer.values.read_json_value` (never rounded silently)."""
    if len(text) > MAX_NUMBER_DIGITS + 10:
        return BigNumber(text)
    v = Written(text)  # a float that keeps the literal: amounts print as written (5949.0880)
    if v in (float("inf"), float("-inf")) or Decimal(text) != Decimal(repr(float(v))):
        return BigNumber(text)  # a number a double cannot hold exactly is judged on its text, never rounded
    return v


def text_too_long(field: str, text: str, **where):
    """The finding for a text longer than a spreadsheet cell holds, or None."""
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return make("value.text_too_long", field=field, length=len(text), limit=MAX_TEXT, **where)
    return None


def _json_error(msg: str) -> str:
    table = {
        "Expecting value": "此处应为一个值",
        "Expecting property name enclosed in double quotes": "键名应放在双引号中",
        "Expecting ',' delimiter": "缺少逗号",
        "Expecting ':' delimiter": "缺少冒号",
        "Unterminated string starting at": "字符串缺少结尾的引号",
        "Extra data": "JSON 结束后还有多余内容",
        "Invalid control character at": "字符串中有控制字符",
        "Invalid \\escape": "字符串中有无效的转义（反斜杠）",
        "Invalid \\uXXXX escape": "字符串中有无效的 \\u 转义",
        "Expecting property name": "此处应为键名",
        "Unterminated string": "字符串缺少结尾的引号",
    }
    for k, v in table.items():
        if msg.startswith(k):
            return v
    return "格式不正确"


def import_json_bytes(data: bytes, path: str, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    try:
        doc, duplicates = parse_json_bytes(data, limits)
    except Unreadable as u:
        return ImportResult(path, "json", findings=[u.finding], unreadable=u.finding)
    return import_document(doc, path, duplicates)


def _guess_format(doc: dict, year):
    """Without a format id: the installed format whose cell keys match the data best (then by year)."""

    try:
        by_year = resolve_format(None, year)
    except SpecError:
        by_year = None
    tables = doc.get("tables") if isinstance(doc.get("tables"), dict) else {}
    best, best_score = by_year, -1
    for spec in available_formats():
        score = 0
        for t in spec.tables:
            rows = tables.get(t.key)
            if isinstance(rows, dict):
                for rk, cols in rows.items():
                    if isinstance(cols, dict):
                        score += sum(1 for ck in cols if t.has_cell(rk, ck))
        if score > best_score or (score == best_score and spec is by_year):
            best, best_score = spec, score
    return best


def import_document(doc: dict, path: str, duplicates=()) -> ImportResult:
    """Import a parsed canonical object (untrusted)."""

    from importer.published.result import from_json, is_published_json

    result = ImportResult(path, "json")
    add = result.findings.append
    for k in dict.fromkeys(duplicates):
        add(make("json.duplicate_key", field=k))
    # written by `xlsxgen extract` from a published report: a null is a figure the report does not give (or
    # that could not be read with certainty), not a blank the agency must fill — it stays unknown, as when
    # the report itself is validated, instead of counting as 0; an agency or year the report does not name
    # is said as the extraction says it
    published = is_published_json(doc)

    # ------------------------------------------------------------------ identity
    year = doc.get("year")
    if published and year is None:
        add(make("extract.no_year"))
    elif "year" not in doc:
        add(make("json.missing_field", field="year"))
        year = None
    elif isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        add(make("json.wrong_type", field="year", expected="四位数年份（整数）",
                 actual=_type_name(year) if not isinstance(year, int) or isinstance(year, bool) else f" {year}"))
        year = None
    fmt = doc.get("format")
    spec = None
    if fmt is None:
        add(make("json.missing_field", field="format"))
        spec = _guess_format(doc, year)
    elif not isinstance(fmt, str):
        add(make("json.wrong_type", field="format", expected="格式编号（文字）", actual=_type_name(fmt),
                 blocking=True))
        return result
    else:
        try:
            spec = load_format(fmt)
        except SpecError:
            add(make("identity.unknown_format", format=fmt, version=""))
            return result
    if spec is None:
        return result
    result.spec = spec
    result.locator = loc = Locator(spec)
    for k in doc:
        if k not in TOP_LEVEL:
            add(make("json.unknown_key", field=k, format=spec.id))

    agency = doc.get("agency")
    name = code = ""
    if agency is None:
        add(make("json.missing_field", field="agency"))
    elif not isinstance(agency, dict):
        add(make("json.wrong_type", field="agency", expected="对象（含 name、code）", actual=_type_name(agency)))
    else:
        name, code = agency.get("name"), agency.get("code", "")
        if published and (name is None or (isinstance(name, str) and not name.strip())):
            add(make("extract.no_agency"))
            name = ""
        elif not isinstance(name, str) or not name.strip():
            add(make("json.missing_field", field="agency.name") if not name else
                make("json.wrong_type", field="agency.name", expected="文字", actual=_type_name(name)))
            name = name if isinstance(name, str) else ""
        if code is None:
            code = ""
        elif isinstance(code, (int, float)) and not isinstance(code, bool):
            code = str(code)
        elif not isinstance(code, str):
            add(make("json.wrong_type", field="agency.code", expected="文字", actual=_type_name(code)))
            code = ""
        for k in agency:
            if k not in ("name", "code"):
                add(make("json.unknown_key", field=f"agency.{k}", format=spec.id))
    sub = Submission(spec.id, year=year, agency_name=(name or "").strip(), agency_code=(code or "").strip())

    # ------------------------------------------------------------------ tables
    tables = doc.get("tables")
    if tables is None:
        add(make("json.missing_field", field="tables", blocking=True))
        tables = {}
    elif not isinstance(tables, dict):
        add(make("json.wrong_type", field="tables", expected="对象", actual=_type_name(tables), blocking=True))
        tables = {}
    table_keys = {t.key for t in spec.tables}
    for k in tables:
        if k not in table_keys:
            add(make("json.unknown_key", severity="error", field=f"tables.{k}", format=spec.id))
    for t in spec.tables:
        if t.key not in tables:
            if doc.get("tables") is not None and isinstance(doc.get("tables"), dict):
                add(make("json.missing_table", table=t.key, label=t.heading))
            result.unreliable.update((t.key, rk, ck) for rk, ck in t.input_cells())
            continue
        rows = tables[t.key]
        if not isinstance(rows, dict):
            add(make("json.wrong_type", field=f"tables.{t.key}", expected="对象", actual=_type_name(rows),
                     table=t.key, blocking=True))
            result.unreliable.update((t.key, rk, ck) for rk, ck in t.input_cells())
            continue
        row_keys = {a.key for a in t.rows}
        for rk, cols in rows.items():
            if rk not in row_keys:
                add(make("json.unknown_cell", table=t.key, row=rk, field=rk))
                continue
            if not isinstance(cols, dict):
                add(make("json.wrong_type", field=f"tables.{t.key}.{rk}", expected="对象", actual=_type_name(cols),
                         table=t.key, row=rk, blocking=True))
                result.unreliable.update((t.key, rk, ck) for r2, ck in t.input_cells() if r2 == rk)
                continue
            for ck in cols:
                if not t.has_cell(rk, ck):
                    add(make("json.unknown_cell", table=t.key, row=rk, column=ck, field=f"{rk}.{ck}"))
        missing_rows = []
        for rk, ck in t.cells:
            key = (t.key, rk, ck)
            kind = t.kinds[(rk, ck)]
            row = rows.get(rk)
            if not isinstance(row, dict):
                if row is None and kind != "total" and rk not in missing_rows:
                    missing_rows.append(rk)
                continue
            if kind == "total":
                if ck in row and row[ck] is not None:
                    reading = read_json_value(row[ck], "amount")
                    if reading.ok:
                        result.claimed[key] = reading.value
                    if reading.code and reading.code not in ("value.blank",):
                        add(value_finding(reading.code, key, reading, loc))
                continue
            if published and row.get(ck) is None:
                result.unreliable.add(key)  # not known (see above)
                continue
            reading = read_json_value(row.get(ck), kind)
            if reading.code:
                add(value_finding(reading.code, key, reading, loc))
            if reading.ok:
                sub.values[key] = reading.value
            else:
                result.unreliable.add(key)
        for rk in missing_rows:
            add(make("json.missing_row", place=f"表「{t.heading}」中「{t.row(rk).label}」", table=t.key, row=rk))

    # ------------------------------------------------------------------ narrative and contact
    narrative = doc.get("narrative")
    if narrative is None:
        narrative = {}
    elif not isinstance(narrative, dict):
        add(make("json.wrong_type", field="narrative", expected="对象", actual=_type_name(narrative)))
        narrative = {}
    known = {f.key: f for f in spec.narrative_fields}
    for k in narrative:
        if k not in known:
            add(make("json.unknown_key", field=f"narrative.{k}", format=spec.id))
    for f in spec.narrative_fields:
        v = narrative.get(f.key)
        key = ("narrative", f.key)
        if f.kind in ("count", "amount"):
            if published and v is None:
                sub.narrative[f.key] = None  # not known (see above)
                continue
            reading = read_json_value(v, f.kind)
            if reading.code:
                add(value_finding(reading.code, key, reading, loc))
            sub.narrative[f.key] = reading.value
        elif v is None or isinstance(v, str):
            long = text_too_long(f"narrative.{f.key}", v, table="narrative", row=f.key)
            if long is not None:
                add(long)
                v = None
            sub.narrative[f.key] = v
        else:
            add(make("json.wrong_type", field=f"narrative.{f.key}", expected="文字", actual=_type_name(v),
                     table="narrative", row=f.key))
            sub.narrative[f.key] = None

    contact = doc.get("contact")
    binds = [f.bind.partition(".")[2] for f in spec.cover_fields if f.bind and f.bind.startswith("contact.")]
    if contact is None:
        contact = {}
    elif not isinstance(contact, dict):
        add(make("json.wrong_type", field="contact", expected="对象", actual=_type_name(contact)))
        contact = {}
    for k in contact:
        if k not in binds:
            add(make("json.unknown_key", field=f"contact.{k}", format=spec.id))
    for b in binds:
        v = contact.get(b, "")
        if v is None:
            v = ""
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(int(v)) if float(v).is_integer() else str(v)
        if not isinstance(v, str):
            add(make("json.wrong_type", field=f"contact.{b}", expected="文字", actual=_type_name(v)))
            v = ""
        long = text_too_long(f"contact.{b}", v)
        if long is not None:
            add(long)
            v = ""
        set_bound(sub, f"contact.{b}", v)
    result.submission = sub
    return from_json(result, doc) if published else result
