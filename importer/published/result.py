"""The result of reading a published report: the figures exactly as published, and where each was read.

Made by :func:`importer.published.extract` from the source, or by the JSON importer from what
``xlsxgen extract`` wrote (``source.kind == "published"``): either way a figure that is not known is
``None`` — never a blank that counts as 0 — and the figures are checked by
:func:`importer.published.lint`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from importer.result import ImportResult


@dataclass
class PublishedResult(ImportResult):
    """An :class:`ImportResult` of a published source, with the figures exactly as published."""

    kind: str = ""  # html | docx | pdf | text
    published: dict = field(default_factory=dict)  # every cell of the format: number, or None (blank/unknown)
    provenance: dict = field(default_factory=dict)  # cell key -> where it was read
    splits: dict = field(default_factory=dict)
    title: str = ""
    source_path: str = ""  # the published source, when this was read from the JSON written from it

    def canonical(self) -> dict:
        """Canonical JSON with the totals as published and null where a figure is not known."""
        if self.spec is None:
            raise ValueError("no data to export")
        tables = {}
        for t in self.spec.tables:
            rows: dict[str, dict] = {}
            for rk, ck in t.cells:
                rows.setdefault(rk, {})[ck] = _num(self.published.get((t.key, rk, ck)))
            tables[t.key] = rows
        sub = self.submission
        return {
            "format": self.spec.id,
            "agency": {"name": sub.agency_name if sub else "", "code": sub.agency_code if sub else ""},
            "year": sub.year if sub else None,
            "tables": tables,
            "narrative": {f.key: sub.narrative.get(f.key) if sub else None for f in self.spec.narrative_fields},
            "contact": {},
            "source": {"kind": "published", "type": self.kind, "path": self.source_path or self.path,
                       "title": self.title, "splits": dict(self.splits)},
            "provenance": {".".join(k): v for k, v in sorted(self.provenance.items(), key=lambda kv: _order(
                self.spec, kv[0]))},
        }

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["source"] = self.kind
        if self.spec is not None and self.submission is not None:
            d["data"] = self.canonical()
        return d


def _order(spec, key):
    for ti, t in enumerate(spec.tables):
        if t.key == key[0]:
            try:
                return (ti, t.cells.index((key[1], key[2])))
            except ValueError:
                return (ti, 10 ** 6)
    return (99, 0)


def _num(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def is_published_json(doc) -> bool:
    """A canonical object that ``xlsxgen extract`` wrote from a published report."""
    return isinstance(doc, dict) and isinstance(doc.get("source"), dict) and doc["source"].get("kind") == "published"


def from_json(result: ImportResult, doc: dict) -> PublishedResult:
    """What the JSON importer read from a file ``xlsxgen extract`` wrote, as the extraction's result: the
    totals as published (not recomputed), every figure that is null unknown (the importer kept it out of
    the submission instead of reading it as a blank that counts as 0), and where each figure was read.
    :func:`importer.published.lint` then checks it exactly as it checks the report itself."""
    src = doc.get("source") if isinstance(doc.get("source"), dict) else {}
    res = PublishedResult(
        result.path, result.source, spec=result.spec, submission=result.submission, findings=result.findings,
        unreadable=result.unreadable, claimed=dict(result.claimed), locator=result.locator,
        unreliable=set(result.unreliable), kind=str(src.get("type") or ""), title=str(src.get("title") or ""),
        source_path=str(src.get("path") or ""))
    splits = src.get("splits")
    res.splits = dict(splits) if isinstance(splits, dict) else {}
    spec, sub = result.spec, result.submission
    if spec is None or sub is None:
        return res
    published = {}
    for t in spec.tables:
        for rk, ck in t.cells:
            key = (t.key, rk, ck)
            v = result.claimed.get(key) if t.kinds.get((rk, ck)) == "total" else sub.values.get(key)
            published[key] = v
            if v is None:
                res.unreliable.add(key)
    res.published = published
    prov = doc.get("provenance")
    if isinstance(prov, dict):
        for k, v in prov.items():
            key = tuple(k.split(".")) if isinstance(k, str) else ()
            if len(key) == 3 and key in published and isinstance(v, dict):
                res.provenance[key] = v
    return res
