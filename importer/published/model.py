"""What an extraction produces: per cell a published value (or None), its provenance, and findings."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from importer.findings import Finding, make

CellKey = tuple[str, str, str]

PLACEHOLDERS = {"-", "--", "—", "——", "－", "/", "／", "\\", "无", "空", "null", "n/a", "N/A", "×", "*"}
_COUNT_RE = re.compile(r"(?:0|[1-9]\d*)(?:\.0+)?")
_AMOUNT_RE = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?")
_SIGNED_RE = re.compile(r"[+-]?(?:0|[1-9]\d*)")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_UNIT_RE = re.compile(r"^(.*?\d)\s*([\u4e00-\u9fff]{1,2})$")


def prov_text(prov: dict | None) -> str:
    """Where a figure was read, in Chinese (for messages)."""
    if not prov:
        return ""
    if "table" in prov and "row" in prov:
        head = f"第{prov['page']}页" if prov.get("page") else ""
        return f"{head}第{prov.get('table')}个表格第{prov.get('row')}行第{prov.get('col')}列"
    if prov.get("page"):
        return f"第{prov['page']}页第{prov.get('line')}行"
    if "line" in prov:
        return f"第{prov['line']}行第{prov.get('col', 1)}字"
    return ""


@dataclass
class Reading:
    value: float | int | None
    code: str | None = None  # a finding kind when the text is not a plain number
    text: str = ""


def read_number(text: str, kind: str, column_label: str = "") -> Reading:
    """One published cell: a number, blank, a placeholder for none, or text that is not a number."""
    return Reading(*_read_number(text or "", kind, column_label))


@functools.lru_cache(maxsize=65536)
def _read_number(text: str, kind: str, column_label: str) -> tuple:
    return tuple(vars(_read_number_uncached(text, kind, column_label)).values())


def _read_number_uncached(text: str, kind: str, column_label: str = "") -> Reading:
    raw = text or ""
    s = unicodedata.normalize("NFKC", raw)
    s = "".join(ch for ch in s if not ch.isspace() and ch not in "\u200b\ufeff")
    if not s:
        return Reading(None, "extract.blank", raw)
    if s in PLACEHOLDERS:
        return Reading(None, "extract.placeholder", raw)
    m = _UNIT_RE.match(s)
    if m and m.group(2) in column_label:
        s = m.group(1)  # a unit the column itself states (万元 under 本年收费金额（单位：万元）)
    if _THOUSANDS_RE.fullmatch(s):
        s = s.replace(",", "")
    if kind == "amount" and _AMOUNT_RE.fullmatch(s):
        v = float(s)
        return Reading(int(v) if v.is_integer() and "." not in s else v, None, raw)
    if kind == "signed_count" and _SIGNED_RE.fullmatch(s):
        return Reading(int(s), None, raw)
    if _COUNT_RE.fullmatch(s):
        return Reading(int(float(s)), None, raw)
    return Reading(None, "extract.unparseable", raw)


@dataclass
class Extraction:
    """The published figures of one source, as read."""

    spec: object
    path: str
    kind: str  # html | docx | pdf | text
    values: dict[CellKey, object] = field(default_factory=dict)  # found cells: number or None (blank)
    prov: dict[CellKey, dict] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    splits: dict = field(default_factory=lambda: {"runs": 0, "split": 0, "by_identity": 0, "ambiguous": 0,
                                                 "unparseable": 0})
    tables_found: dict[str, str] = field(default_factory=dict)  # table key -> "grid" | "text"
    title: str = ""

    def place(self, key: CellKey) -> str:
        t = self.spec.table(key[0])
        try:
            label = t.cell_label(key[1], key[2])
        except (KeyError, IndexError):
            label = ".".join(key)
        return f"表「{t.heading}」中「{label}」"

    def row_place(self, table: str, row: str) -> str:
        t = self.spec.table(table)
        return f"表「{t.heading}」中「{t.row(row).label}」"

    def add(self, code: str, key: CellKey | None = None, prov: dict | None = None, **fields) -> Finding:
        where = prov_text(prov)
        loc = {}
        if key is not None:
            loc = {"table": key[0], "row": key[1], "column": key[2]}
            fields.setdefault("place", self.place(key))
        f = make(code, where=f"（{where}）" if where else "", source=prov or None, **loc, **fields)
        self.findings.append(f)
        return f

    def set(self, key: CellKey, value, prov: dict) -> bool:
        """Record a published cell; a second, different reading of the same cell is reported, the first kept."""
        if key in self.values and self.values[key] is not None:
            if value is not None and value != self.values[key]:
                self.add("extract.duplicate", key, prov, actual=value, expected=self.values[key],
                         first=prov_text(self.prov.get(key)))
            return False
        self.values[key] = value
        self.prov[key] = prov
        return True
