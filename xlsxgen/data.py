"""The canonical data of one submission, and its JSON form.

JSON (keys are the spec's stable keys)::

    {"format": "gov-info-2021", "agency": {"name": "...", "code": "..."}, "year": 2023,
     "tables": {"applications": {"new_received": {"natural_person": 107, ...}, ...}, ...},
     "narrative": {"overview_intro": "...", ...}, "contact": {"person": ..., "phone": ..., "date": ...}}

In memory a submission's figures are a flat dict ``{(table, row, column): number}``.
On output every total is present and is our own recomputation
(:func:`xlsxgen.spec.rules.recompute_totals`); on input totals may be omitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsxgen.spec.domain import in_domain
from xlsxgen.spec.rules import recompute_totals

CellKey = tuple[str, str, str]


@dataclass
class Submission:
    format_id: str
    year: int | None = None
    agency_name: str = ""
    agency_code: str = ""
    values: dict[CellKey, float] = field(default_factory=dict)
    narrative: dict[str, object] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)

    def value(self, table: str, row: str, column: str):
        return self.values.get((table, row, column), 0)


def number(v):
    """An int when integral (JSON stays ``107``, not ``107.0``), else a float."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def get_bound(sub: Submission, bind: str):
    """Read a cover field bound to ``agency.name``, ``year``, ``contact.person``..."""
    head, _, tail = bind.partition(".")
    if head == "agency":
        return {"name": sub.agency_name, "code": sub.agency_code}.get(tail, "")
    if head == "year":
        return sub.year
    if head == "contact":
        return sub.contact.get(tail, "")
    raise KeyError(bind)


def set_bound(sub: Submission, bind: str, value) -> None:
    head, _, tail = bind.partition(".")
    if head == "agency":
        setattr(sub, f"agency_{tail}", "" if value is None else str(value))
    elif head == "year":
        sub.year = value
    elif head == "contact":
        sub.contact[tail] = "" if value is None else str(value)
    else:
        raise KeyError(bind)


def to_canonical(spec, sub: Submission) -> dict:
    """The canonical JSON object of ``sub``, every total recomputed."""
    values = recompute_totals(spec, {k: v for k, v in sub.values.items()})
    tables = {}
    for t in spec.tables:
        rows: dict[str, dict] = {}
        for rk, ck in t.cells:
            rows.setdefault(rk, {})[ck] = number(values.get((t.key, rk, ck), 0))
        tables[t.key] = rows
    return {
        "format": spec.id,
        "agency": {"name": sub.agency_name, "code": sub.agency_code},
        "year": sub.year,
        "tables": tables,
        "narrative": {f.key: sub.narrative.get(f.key) for f in spec.narrative_fields},
        "contact": dict(sub.contact),
    }


def from_canonical_trusted(spec, doc: dict) -> Submission:
    """Build a Submission from a canonical object that is known to be well formed.

    (Untrusted JSON goes through the importer, which reports every problem.)
    """
    sub = Submission(format_id=doc.get("format", spec.id), year=doc.get("year"))
    sub.agency_name = (doc.get("agency") or {}).get("name", "")
    sub.agency_code = (doc.get("agency") or {}).get("code", "")
    for t in spec.tables:
        rows = (doc.get("tables") or {}).get(t.key, {})
        for rk, ck in t.cells:
            v = (rows.get(rk) or {}).get(ck)
            if v is not None and (t.kinds[(rk, ck)] == "total" or in_domain(v, t.kinds[(rk, ck)])):
                sub.values[(t.key, rk, ck)] = v  # a figure outside the domain (an older release's store) is left out
    sub.narrative = dict(doc.get("narrative") or {})
    sub.contact = dict(doc.get("contact") or {})
    recompute_totals(spec, sub.values)
    return sub
