"""A JSON Schema (draft 2020-12) of a format's canonical JSON, generated from the spec.

The schema describes the canonical form exactly as ``xlsxgen export`` writes
it: every figure a number of the right kind, every total present. The importer
is more lenient on input (totals may be omitted; numbers typed as text, blanks
and placeholders are accepted with a warning) and explains every deviation as a
finding; the schema is for other programs that produce or consume the data.

Usage::

    python -m importer.schema gov-info-2021            # print the schema
    python -m importer.schema --write                  # templates/<id>/canonical.schema.json for every format
"""

from __future__ import annotations

import json
import sys

from xlsxgen.spec import available_formats, load_format
from xlsxgen.spec.domain import AMOUNT_LIMIT, AMOUNT_PLACES, COUNT_MAX

# the numeric domain (xlsxgen.spec.domain), as JSON Schema
KIND_SCHEMA = {
    "count": {"type": "integer", "minimum": 0, "maximum": COUNT_MAX},
    "signed_count": {"type": "integer", "minimum": -COUNT_MAX, "maximum": COUNT_MAX},
    "amount": {"type": "number", "minimum": 0, "exclusiveMaximum": AMOUNT_LIMIT,
               "$comment": f"at most {AMOUNT_PLACES} decimal places"},
}


def canonical_schema(spec) -> dict:
    tables = {}
    for t in spec.tables:
        rows: dict[str, dict] = {}
        for rk, ck in t.cells:
            kind = t.kinds[(rk, ck)]
            if kind == "total":
                cell = {"type": "number", "description": f"{t.cell_label(rk, ck)}（合计：导出时为重新计算的值；"
                                                         f"导入时可省略，给出时须与重新计算的值一致）"}
            else:
                cell = dict(KIND_SCHEMA[kind], description=t.cell_label(rk, ck))
            row = rows.setdefault(rk, {"type": "object", "description": t.row(rk).label, "properties": {},
                                       "additionalProperties": False})
            row["properties"][ck] = cell
        for row in rows.values():
            row["required"] = list(row["properties"])
        tables[t.key] = {"type": "object", "description": t.heading, "properties": rows,
                         "required": list(rows), "additionalProperties": False}
    narrative = {}
    for f in spec.narrative_fields:
        if f.kind in KIND_SCHEMA:
            narrative[f.key] = dict(KIND_SCHEMA[f.kind], description=f.label)
        else:
            narrative[f.key] = {"type": ["string", "null"], "description": f.label}
    contact = {f.bind.partition(".")[2]: {"type": "string", "description": f.label}
               for f in spec.cover_fields if f.bind and f.bind.startswith("contact.")}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:xlsxgen:{spec.id}:canonical",
        "title": f"{spec.title}（{spec.basis}）规范数据",
        "description": f"格式 {spec.id}（版本 {spec.version}）一个单位一个年度的报送数据；键名均为格式定义中的稳定键名。",
        "type": "object",
        "required": ["format", "agency", "year", "tables"],
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string"},
            "format": {"const": spec.id, "description": "报告格式编号"},
            "agency": {
                "type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1, "description": "填报单位全称"},
                               "code": {"type": "string", "description": "单位代码（可为空）"}},
            },
            "year": {"type": "integer", "minimum": spec.years[0], "maximum": spec.years[1], "description": "报告年度"},
            "tables": {"type": "object", "properties": tables, "required": list(tables),
                       "additionalProperties": False},
            "narrative": {"type": "object", "properties": narrative, "additionalProperties": False},
            "contact": {"type": "object", "properties": contact, "additionalProperties": False},
        },
    }


def main(argv=None) -> int:

    args = list(sys.argv[1:] if argv is None else argv)
    if "--write" in args:
        for spec in available_formats():
            path = spec.folder / "canonical.schema.json"
            path.write_text(json.dumps(canonical_schema(spec), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            print(f"已写入 {path}")
        return 0
    ids = args or [s.id for s in available_formats()]
    for fid in ids:
        print(json.dumps(canonical_schema(load_format(fid)), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
