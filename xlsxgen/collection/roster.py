"""The roster: which agencies report to the coordinating office.

A roster is a CSV file as a clerk saves it from Excel or WPS: UTF-8 (with or
without BOM), GBK/GB18030 (Excel's "CSV" on a Chinese Windows) or UTF-16
("Unicode text", tab-separated). Columns are recognised by header, in Chinese
or English; at least a code and a name are needed::

    代码,名称,上级,类型
    130500-001,邢台市人民政府办公室,,市政府办公室

Every problem is reported with its row number (the row as Excel shows it,
header = row 1) before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from xlsxgen.errors import XlsxgenError

# header -> field; compared after stripping spaces and lower-casing
HEADER_ALIASES = {
    "code": ("代码", "单位代码", "机构代码", "编码", "单位编码", "编号", "code", "agency_code"),
    "name": ("名称", "单位名称", "单位", "机构名称", "name", "agency_name", "agency"),
    "parent": ("上级", "上级单位", "上级代码", "上级单位代码", "parent", "parent_code"),
    "kind": ("类型", "单位类型", "机构类型", "type", "kind", "category"),
    "contact": ("联系人", "联络人", "经办人", "contact", "contact_person"),
    "phone": ("电话", "手机", "手机号", "联系方式", "phone", "tel", "telephone", "mobile"),  # 联系电话: see _header_field
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail"),
}
FIELD_LABELS = {"code": "代码", "name": "名称", "parent": "上级", "kind": "类型", "contact": "联系人", "phone": "电话",
                "email": "邮箱"}
CONTACT_FIELDS = ("contact", "phone", "email")
MAX_PROBLEMS_SHOWN = 8


class RosterError(XlsxgenError):
    """The roster file cannot be used; the message names the file and the rows."""


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    parent: str = ""
    kind: str = ""
    line: int = 0  # row number in the file (header = 1)
    contact: str = ""  # 联系人, 电话, 邮箱: optional roster columns, for chasing late agencies
    phone: str = ""
    email: str = ""


@dataclass
class Roster:
    agencies: list[Agency]
    source: str = ""
    encoding: str = ""
    by_code: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.by_code = {a.code: a for a in self.agencies}

    def __len__(self):
        return len(self.agencies)

    def __iter__(self):
        return iter(self.agencies)

    def get(self, code: str) -> Agency | None:
        return self.by_code.get(code)

    def _names(self) -> list[tuple[str, Agency]]:
        """(normalised name, agency) of every agency, computed once (a collect asks per file)."""
        names = self.__dict__.get("_normalised")
        if names is None or len(names) != len(self.agencies):
            names = self.__dict__["_normalised"] = [(_norm(a.name), a) for a in self.agencies]
            by_name: dict[str, list[Agency]] = {}
            for key, a in names:
                by_name.setdefault(key, []).append(a)
            self.__dict__["_by_name"] = by_name
        return names

    def match_name(self, name: str) -> Agency | None:
        """The agency whose name is exactly ``name`` (spaces ignored), if exactly one."""
        self._names()
        hits = self.__dict__["_by_name"].get(_norm(name), ())
        return hits[0] if len(hits) == 1 else None

    def match_code(self, code: str) -> Agency | None:
        """The agency whose code equals ``code`` after normalising (spaces, case, leading zeros), if exactly one.

        Excel strips leading zeros when a roster is saved with the code column as
        numbers (``001`` becomes ``1``); workbooks and last year's data still say ``001``.
        """
        key = norm_code(code)
        if not key:
            return None
        index = self.__dict__.get("_by_code_norm")
        if index is None or self.__dict__.get("_by_code_norm_n") != len(self.agencies):
            index = {}
            for a in self.agencies:
                index.setdefault(norm_code(a.code), []).append(a)
            self.__dict__["_by_code_norm"] = index
            self.__dict__["_by_code_norm_n"] = len(self.agencies)
        hits = index.get(key, ())
        return hits[0] if len(hits) == 1 else None

    def match_file_name(self, file_name: str) -> Agency | None:
        """Guess the agency of a file from its name (for files that cannot be read).

        A name such as ``2024-001-某某局.xlsx`` (as ``generate`` names them), or
        any name containing exactly one roster agency's full name or code.
        """
        stem = _norm(Path(file_name).stem)
        self._names()
        by_name = self.__dict__["_by_name"]
        lengths = self.__dict__.get("_name_lengths")
        if lengths is None or self.__dict__.get("_name_lengths_n") != len(self.agencies):
            lengths = self.__dict__["_name_lengths"] = sorted({len(k) for k in by_name if k}, reverse=True)
            self.__dict__["_name_lengths_n"] = len(self.agencies)
        # the longest roster names contained in the stem (dictionary look-ups of its substrings: a collect asks per file)
        for n in lengths:
            if n > len(stem):
                continue
            named = {id(a): a for i in range(len(stem) - n + 1) for a in by_name.get(stem[i:i + n], ())}
            if named:
                if len(named) == 1:
                    return next(iter(named.values()))
                break  # two agencies' names of the same length: the code may still tell
        parts = set(re.split(r"[-_\s.，,（）()]+", stem))
        coded = [self.by_code[p] for p in parts if p in self.by_code]
        if len(coded) == 1:
            return coded[0]
        return None


def named_agency(roster, path: str):
    """(agency, how) when the file's name, its archive's or a folder's names one roster agency; else (None, "")."""
    if roster is None or not path:
        return None, ""
    outer, _, member = path.rpartition("!")
    parts = [("文件名", (member or path).rsplit("/", 1)[-1])]
    if outer:
        parts.append(("压缩包名", outer.rsplit("/", 1)[-1]))
    folders = (outer or path).split("/")[:-1] if outer else path.split("/")[:-1]
    if outer and "/" in member:
        folders = member.split("/")[:-1] + folders
    parts += [("文件夹名", f) for f in reversed(folders) if f]
    for how, name in parts:
        agency = roster.match_file_name(name)
        if agency is not None:
            return agency, how
    return None, ""


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s or "")


def norm_code(code: str) -> str:
    """A code compared loosely: no spaces, upper case, leading zeros of every digit run dropped (``001`` = ``1``)."""
    s = _norm(code).upper()
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", s)


def _decode(raw: bytes, path: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as e:
        raise RosterError(
            f"名单 {path} 的编码无法识别（既不是 UTF-8，也不是 GBK/GB18030，第 {e.start} 个字节处出错）；"
            f"请在 Excel 中“另存为”→“CSV UTF-8（逗号分隔）”后重试"
        ) from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "，")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _header_field(text: str) -> str | None:
    t = _norm(text).lower().lstrip("\ufeff")
    for key in (t, t[2:] if t.startswith("联系") else None):  # 联系电话, 联系邮箱 are 电话, 邮箱
        for fld, aliases in HEADER_ALIASES.items():
            if key and key in (a.lower() for a in aliases):
                return fld
    return None


def parse_roster(raw: bytes, source: str = "名单") -> Roster:
    """Parse roster bytes; raise :class:`RosterError` naming every problem (up to a few)."""
    if not raw.strip():
        raise RosterError(f"名单 {source} 是空文件")
    if raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise RosterError(f"名单 {source} 是 Excel 工作簿，不是 CSV；请在 Excel 中“另存为”→“CSV UTF-8（逗号分隔）”")
    text, encoding = _decode(raw, source)
    text = text.lstrip("\ufeff")
    if "\x00" in text:  # no spreadsheet writes one; it cannot be part of a name written into a workbook
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise RosterError(f"名单 {source} 第{line}行含有空字符（NUL），文件可能已损坏或不是 CSV 文本；"
                          "请在 Excel/WPS 中打开名单，重新“另存为 CSV”后重试。未生成任何文件")
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first)))
    # the header: the first non-empty row
    header_idx = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    if header_idx is None:
        raise RosterError(f"名单 {source} 没有内容")
    header = rows[header_idx]
    columns: dict[str, int] = {}
    for ci, h in enumerate(header):
        fld = _header_field(h)
        if fld is None:
            continue
        if fld in columns:
            raise RosterError(
                f"名单 {source} 第{header_idx + 1}行（表头）有两列都表示“{FIELD_LABELS[fld]}”："
                f"“{header[columns[fld]].strip()}”和“{h.strip()}”，请删去其中一列"
            )
        columns[fld] = ci
    missing = [f for f in ("code", "name") if f not in columns]
    if missing:
        want = "；".join(f"“{FIELD_LABELS[f]}”列（可写作 {'、'.join(HEADER_ALIASES[f][:3])}）" for f in missing)
        seen = "、".join(h.strip() for h in header if h.strip()) or "（空）"
        hint = "；文件内容疑似乱码，请确认编码" if encoding == "GB18030" and "�" in text else ""
        raise RosterError(f"名单 {source} 缺少{want}；第{header_idx + 1}行（表头）实际为：{seen}{hint}")

    problems: list[str] = []
    agencies: list[Agency] = []
    first_line_of: dict[str, int] = {}
    for i in range(header_idx + 1, len(rows)):
        r = rows[i]
        line = i + 1
        if not any(c.strip() for c in r):
            continue

        def cell(fld, r=r):
            ci = columns.get(fld)
            return r[ci].strip() if ci is not None and ci < len(r) else ""

        code, name = cell("code"), cell("name")
        if not code:
            problems.append(f"第{line}行代码为空" + (f"（{name}）" if name else ""))
            continue
        if not name:
            problems.append(f"第{line}行（代码 {code}）名称为空")
            continue
        if code in first_line_of:
            problems.append(f"第{line}行代码“{code}”与第{first_line_of[code]}行重复")
            continue
        first_line_of[code] = line
        agencies.append(Agency(code=code, name=name, parent=cell("parent"), kind=cell("kind"), line=line,
                               contact=cell("contact"), phone=cell("phone"), email=cell("email")))
    if problems:
        shown = "；".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f"；另有 {len(problems) - MAX_PROBLEMS_SHOWN} 处" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise RosterError(f"名单 {source} 有 {len(problems)} 处问题：{shown}{more}。请修改后重试，未生成任何文件")
    if not agencies:
        raise RosterError(f"名单 {source} 只有表头，没有任何单位")
    return Roster(agencies, source=source, encoding=encoding)


def read_roster(path) -> Roster:
    """Read and check the roster at ``path``."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise RosterError(f"找不到名单文件 {p}") from None
    except IsADirectoryError:
        raise RosterError(f"{p} 是文件夹，不是名单文件（应为 .csv 文件）") from None
    except OSError as e:
        from xlsxgen.files import os_reason

        raise RosterError(f"无法读取名单 {p}：{os_reason(e)}") from None
    return parse_roster(raw, str(p))


# ---------------------------------------------------------------------------- distribution


