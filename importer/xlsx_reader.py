"""A small, safe .xlsx reader on :mod:`zipfile` and :mod:`xml.parsers.expat`.

Why not openpyxl: the importer needs values *and* formulas, style protection
flags and sheet protection in one pass, for every planned sheet, and it must
stay within twice the cost of a bare streaming parse. openpyxl builds a full
object model and is several times slower even in read-only mode.

XML safety: every part is parsed by a fresh ``xml.parsers.expat`` parser whose
``StartDoctypeDeclHandler``, ``EntityDeclHandler``, ``UnparsedEntityDeclHandler``
and ``ExternalEntityRefHandler`` raise — the same handlers
``defusedxml.expatreader`` installs, raising the same exception classes from
:mod:`defusedxml.common` (``DTDForbidden``, ``EntitiesForbidden``,
``ExternalReferenceForbidden``); parameter entities are never parsed. A
DOCTYPE is refused outright: no part of a real workbook has one, so billion
laughs and external-entity files are refused before any entity is declared.
A part is decompressed in one step by :meth:`importer.safety.Package.read_small`
(up to 1 MB: every real part) or fed in chunks from
:meth:`importer.safety.Package.chunks`; both enforce the size and
compression-ratio limits on the bytes produced; the number of elements per part
and of cells per sheet is capped as well.

Speed (issue 6: import and validate within twice a bare values-only parse):
one handler per region of a part, swapped mid-parse (``install``), text
collected by ``list.append`` itself, no reference cycles left behind (the
parser is freed at once, not by the cycle collector), and the per-format
derived structures cached by the importer (:class:`importer.workbook_import.PlanIndex`).

What is read:

* ``xl/workbook.xml`` (found through ``_rels/.rels``): sheet names, order,
  state (incl. ``veryHidden``), relationship ids, defined names,
  ``workbookProtection``;
* ``xl/_rels/workbook.xml.rels``: sheet parts, shared strings, styles;
* ``sharedStrings.xml``: plain and rich-text strings (phonetic runs skipped);
* ``styles.xml``: for each ``cellXfs`` entry whether it is locked (locked
  unless ``<protection locked="0"/>``; an xf without a protection element
  inherits from its ``cellStyleXfs`` entry; ``applyProtection`` is ignored,
  because LibreOffice writes ``applyProtection="false"`` next to an explicit
  ``<protection>`` that Excel honours) and whether its number format is a date;
* each requested worksheet: cells (value, type ``s``/``str``/``inlineStr``/
  ``b``/``e``/``n``, formula text incl. shared formulas, style index), column
  and row default styles, ``mergeCells`` and ``sheetProtection``. Parsing stops
  after the merges (conditional formats, validations and print settings are
  not needed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat

from defusedxml.common import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from importer.findings import Unreadable
from importer.safety import DEFAULT_LIMITS, Limits, Package, resolve_target

REL_OFFICE_DOC = "/officeDocument"
TRUE = ("1", "true", "True", "TRUE", "on")

# cell tuple indexes
VALUE, TYPE, FORMULA, STYLE = 0, 1, 2, 3


class _Stop(Exception):
    """Raised by a handler once everything needed from a part has been read."""


# --------------------------------------------------------------------------- defused expat


def _forbid_dtd(name, sysid, pubid, has_internal_subset):
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(name, is_parameter_entity, value, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _forbid_unparsed(name, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _forbid_external(context, base, sysid, pubid):
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def new_parser():
    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = _forbid_dtd
    p.EntityDeclHandler = _forbid_entity
    p.UnparsedEntityDeclHandler = _forbid_unparsed
    p.ExternalEntityRefHandler = _forbid_external
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    p.buffer_size = 1 << 16
    return p


def _local_names(p, start, end):
    """Install handlers; when the root element is prefixed (``x:worksheet``), strip prefixes first.

    Returns ``install(start, end)``, which swaps the element handlers in the
    middle of a parse (a handler per region of a part is cheaper than one
    handler testing where it is), keeping the prefix stripping; ``end`` may be
    None where no end tag matters.
    """
    prefixed = False

    def install(start, end):
        if prefixed:
            def start2(n, a):
                start(n[n.find(":") + 1:], a)

            def end2(n):
                end(n[n.find(":") + 1:])

            p.StartElementHandler, p.EndElementHandler = start2, end2 if end is not None else None
        else:
            p.StartElementHandler, p.EndElementHandler = start, end

    def first(name, attrs):
        nonlocal prefixed
        prefixed = ":" in name
        install(start, end)
        p.StartElementHandler(name, attrs)

    p.StartElementHandler = first
    p.EndElementHandler = end
    return install


def parse_part(pkg: Package, part: str, start, end, chars=None) -> None:
    """Parse ``part`` with the given element handlers; limits and safety enforced.

    Handlers count what they keep (cells, strings); besides, the parse of a
    package has a time budget checked between chunks (:attr:`Limits.max_seconds`),
    so even a pathological part cannot hang the program.
    """
    p = new_parser()
    _local_names(p, start, end)
    if chars is not None:
        p.CharacterDataHandler = chars
    feed(pkg, part, p)


def feed(pkg: Package, part: str, p) -> None:
    """Feed ``part`` to the parser ``p`` (handlers installed); every failure becomes :class:`Unreadable`.

    A small part is decompressed in one step (:meth:`Package.read_small`), a
    large one streamed in chunks; the size, ratio and time limits apply either way.
    """
    try:
        whole = pkg.read_small(part)
        if whole is not None:
            p.Parse(whole, True)
        else:
            for chunk in pkg.chunks(part):
                p.Parse(chunk, False)
                pkg.check_time()
            p.Parse(b"", True)
        pkg.check_time()
    except _Stop:
        pass
    except expat.ExpatError as e:
        raise Unreadable("file.xml_malformed", part=part,
                         detail=f"第{e.lineno}行第{e.offset + 1}列：{expat_reason(e.code)}") from None
    except DefusedXmlException:
        raise Unreadable("file.xml_forbidden", part=part) from None
    except RecursionError:
        raise Unreadable("file.xml_malformed", part=part, detail="嵌套过深") from None
    except LookupError:  # encoding="x": Python's codec lookup fails for an encoding expat hands over
        raise Unreadable("file.xml_malformed", part=part, detail="XML 声明中的字符编码无法识别") from None
    except (ValueError, TypeError, IndexError, OverflowError):  # a bad attribute value (an int() of "²")
        raise Unreadable("file.xml_malformed", part=part, detail="某个属性的值无效") from None
    finally:
        # the handlers are closures that refer back to the parser: drop them, so that the parser (and its
        # 64 KB text buffer) is freed now rather than by the cycle collector some time later
        p.StartElementHandler = p.EndElementHandler = p.CharacterDataHandler = None


_EXPAT_CHINESE = {
    "XML_ERROR_NO_MEMORY": "内存不足",
    "XML_ERROR_SYNTAX": "语法错误",
    "XML_ERROR_NO_ELEMENTS": "没有内容（部件为空或被截断）",
    "XML_ERROR_INVALID_TOKEN": "格式不正确（含有无效字符或标记）",
    "XML_ERROR_UNCLOSED_TOKEN": "标记没有结束（部件被截断）",
    "XML_ERROR_PARTIAL_CHAR": "字符不完整（部件被截断或编码错误）",
    "XML_ERROR_TAG_MISMATCH": "开始和结束标记不匹配",
    "XML_ERROR_DUPLICATE_ATTRIBUTE": "属性重复",
    "XML_ERROR_JUNK_AFTER_DOC_ELEMENT": "文档结束后还有多余内容",
    "XML_ERROR_UNDEFINED_ENTITY": "使用了未定义的实体",
    "XML_ERROR_RECURSIVE_ENTITY_REF": "实体递归引用",
    "XML_ERROR_ASYNC_ENTITY": "实体不完整",
    "XML_ERROR_BAD_CHAR_REF": "字符引用指向无效字符",
    "XML_ERROR_BINARY_ENTITY_REF": "引用了二进制实体",
    "XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF": "属性中引用了外部实体",
    "XML_ERROR_MISPLACED_XML_PI": "XML 声明的位置不对",
    "XML_ERROR_UNKNOWN_ENCODING": "XML 声明中的字符编码无法识别",
    "XML_ERROR_INCORRECT_ENCODING": "XML 声明中的字符编码与内容不符",
    "XML_ERROR_UNCLOSED_CDATA_SECTION": "CDATA 段没有结束",
    "XML_ERROR_EXTERNAL_ENTITY_HANDLING": "外部实体处理出错",
    "XML_ERROR_NOT_STANDALONE": "文档不是独立的",
    "XML_ERROR_UNBOUND_PREFIX": "使用了未声明的命名空间前缀",
    "XML_ERROR_UNDECLARING_PREFIX": "不能取消声明命名空间前缀",
    "XML_ERROR_XML_DECL": "XML 声明格式不正确",
    "XML_ERROR_TEXT_DECL": "文本声明格式不正确",
    "XML_ERROR_INVALID_ARGUMENT": "参数无效",
    "XML_ERROR_AMPLIFICATION_LIMIT_BREACH": "实体展开过多",
}


def expat_reason(code: int) -> str:
    """A Chinese reason for an expat error code (expat's own texts are English)."""
    from xml.parsers.expat import errors

    message = expat.ErrorString(code)
    for name, chinese in _EXPAT_CHINESE.items():
        if getattr(errors, name, None) == message:
            return chinese
    return "XML 格式不正确"


# --------------------------------------------------------------------------- A1 helpers

_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def col_index(letters: str) -> int:
    """0-based column index of ``letters`` (A → 0)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def split_ref(ref: str) -> tuple[int, int] | None:
    """0-based (row, col) of an A1 reference, or None."""
    m = _REF_RE.match(ref)
    if not m:
        return None
    return int(m.group(2)) - 1, col_index(m.group(1))


def make_ref(row: int, col: int) -> str:
    s, c = "", col + 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return f"{s}{row + 1}"


# formula reference shifting (shared formulas)
_STR_OR_SHEET = re.compile(r"(\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*')")
_CELL_IN_FORMULA = re.compile(r"(?<![A-Za-z0-9_.\$])(\$?)([A-Z]{1,3})(\$?)(\d{1,7})(?![A-Za-z0-9_(])")


def shift_formula(text: str, drow: int, dcol: int) -> str:
    """Move the relative references of ``text`` by (drow, dcol), as a shared formula's child does."""
    if not drow and not dcol:
        return text

    def move(m):
        cabs, letters, rabs, digits = m.groups()
        col = col_index(letters) if cabs else col_index(letters) + dcol
        row = int(digits) - 1 if rabs else int(digits) - 1 + drow
        if col < 0 or row < 0:
            return "#REF!"
        ref = make_ref(row, col)
        m2 = re.match(r"([A-Z]+)(\d+)", ref)
        return f"{cabs}{m2.group(1)}{rabs}{m2.group(2)}"

    parts = _STR_OR_SHEET.split(text)
    return "".join(p if i % 2 else _CELL_IN_FORMULA.sub(move, p) for i, p in enumerate(parts))


# --------------------------------------------------------------------------- package structure


@dataclass
class SheetRef:
    name: str
    sheet_id: str | None
    state: str  # visible | hidden | veryHidden
    rid: str | None
    part: str | None = None


@dataclass
class WorkbookInfo:
    sheets: list[SheetRef]
    structure_locked: bool
    app: str | None
    workbook_part: str
    shared_strings_part: str | None = None
    styles_part: str | None = None
    package: Package | None = field(default=None, repr=False)
    _names: dict | None = field(default=None, repr=False)

    def sheet(self, name: str) -> SheetRef | None:
        for s in self.sheets:
            if s.name == name:
                return s
        return None

    @property
    def defined_names(self) -> dict[str, str]:
        """Workbook-scoped defined names (name -> formula text), read on first use."""
        if self._names is None:
            self._names = read_defined_names(self.package, self.workbook_part) if self.package else {}
        return self._names


def _read_rels(pkg: Package, part: str) -> list[tuple[str, str, str]]:
    """(Id, Type, resolved target) of the relationships of ``part``."""
    folder, _, base = part.rpartition("/")
    rels_part = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    if pkg.find(rels_part) is None:
        return []
    out = []

    def start(name, a):
        if name == "Relationship" and a.get("TargetMode", "Internal") != "External":
            out.append((a.get("Id", ""), a.get("Type", ""), resolve_target(part, a.get("Target", ""))))
            if len(out) > pkg.limits.max_entries:
                raise Unreadable("file.too_many_parts", count=len(out), limit=pkg.limits.max_entries)

    parse_part(pkg, rels_part, start, lambda n: None)
    return out


def read_workbook_info(pkg: Package) -> WorkbookInfo:
    """Sheets, defined names and protection from workbook.xml (found through the root rels)."""
    wb_part = None
    for _id, typ, target in _read_rels(pkg, ""):
        if typ.endswith(REL_OFFICE_DOC):
            wb_part = target
            break
    wb_part = wb_part if wb_part and pkg.find(wb_part) else "xl/workbook.xml"
    stored = pkg.find(wb_part)
    if stored is None:
        names = pkg.names()
        if pkg.find("word/document.xml"):
            raise Unreadable("file.not_spreadsheet", what="Word 文档（.docx）")
        if pkg.find("ppt/presentation.xml"):
            raise Unreadable("file.not_spreadsheet", what="PowerPoint 演示文稿（.pptx）")
        if pkg.find("mimetype") and pkg.find("content.xml"):
            raise Unreadable("file.not_spreadsheet", what="OpenDocument 文件（如 .ods，请另存为 .xlsx）")
        if any(n.lower().startswith("xl/") for n in names):
            raise Unreadable("file.missing_part", part="xl/workbook.xml")
        if names:
            raise Unreadable("file.not_spreadsheet", what="一个普通的 zip 压缩包")
        raise Unreadable("file.missing_part", part="xl/workbook.xml")
    wb_part = stored

    sheets: list[SheetRef] = []
    state = {"locked": False, "app": None}
    max_sheets = pkg.limits.max_sheets

    def start(name, a):
        if name == "sheet":
            rid = None
            for k, v in a.items():
                if k.endswith(":id") or k == "id":
                    rid = v
                    break
            sheets.append(SheetRef(a.get("name", ""), a.get("sheetId"), a.get("state", "visible"), rid))
            if len(sheets) > max_sheets:
                raise Unreadable("file.too_many_sheets", count=max_sheets, limit=max_sheets)
        elif name == "workbookProtection":
            state["locked"] = a.get("lockStructure") in TRUE
        elif name == "fileVersion":
            state["app"] = a.get("appName")

    def end(name):
        if name == "sheets":  # workbookProtection comes before; defined names are read on demand
            raise _Stop

    parse_part(pkg, wb_part, start, end)
    info = WorkbookInfo(sheets, state["locked"], state["app"], wb_part, package=pkg)
    by_id = {}
    for rid, typ, target in _read_rels(pkg, wb_part):
        by_id[rid] = target
        if typ.endswith("/sharedStrings"):
            info.shared_strings_part = target
        elif typ.endswith("/styles"):
            info.styles_part = target
    for s in sheets:
        s.part = by_id.get(s.rid)
    if info.shared_strings_part is None and pkg.find("xl/sharedStrings.xml"):
        info.shared_strings_part = "xl/sharedStrings.xml"
    if info.styles_part is None and pkg.find("xl/styles.xml"):
        info.styles_part = "xl/styles.xml"
    return info


def read_defined_names(pkg: Package, wb_part: str) -> dict[str, str]:
    names: dict[str, str] = {}
    state = {"dn": None, "buf": []}

    def start(name, a):
        if name == "definedName":
            state["dn"] = None if "localSheetId" in a else a.get("name")
            state["buf"] = []
            if len(names) > pkg.limits.max_strings:
                raise Unreadable("file.too_many_cells", sheet="定义的名称", limit=pkg.limits.max_strings)

    def end(name):
        if name == "definedName":
            if state["dn"]:
                names[state["dn"]] = "".join(state["buf"])
            state["dn"] = None
        elif name == "definedNames":
            raise _Stop

    def chars(data):
        if state["dn"] is not None:
            state["buf"].append(data)

    parse_part(pkg, wb_part, start, end, chars)
    return names


# --------------------------------------------------------------------------- shared strings

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """Decode the ``_xHHHH_`` escapes of OOXML string items (ECMA-376 ST_Xstring): ``_x0001_`` is U+0001,
    ``_x005F_x0041_`` the literal text ``_x0041_``; a UTF-16 surrogate pair becomes its character, a lone
    surrogate U+FFFD."""
    if "_x" not in text:
        return text
    out = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= ch <= "\udfff" for ch in out):
        out = out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return out



def read_shared_strings(pkg: Package, part: str | None) -> list[str]:
    if not part or pkg.find(part) is None:
        return []
    out: list[str] = []
    parts: list[str] = []  # the <t> texts of the current <si> (several in rich text)
    buf: list[str] = []  # text since the last <t> opened (filled by list.append itself)
    rph = 0
    limit = pkg.limits.max_strings
    join = "".join

    def start(name, a):
        nonlocal rph
        if name == "t":
            buf.clear()
        elif name == "si":
            parts.clear()
        elif name == "rPh":
            rph += 1

    def end(name):
        nonlocal rph
        if name == "t":
            if not rph:
                parts.append(join(buf))
        elif name == "si":
            out.append(unescape(parts[0] if len(parts) == 1 else join(parts)))
            if len(out) > limit:
                raise Unreadable("file.too_many_cells", sheet="共享字符串", limit=limit)
        elif name == "rPh":
            rph -= 1

    parse_part(pkg, part, start, end, buf.append)
    return out


# --------------------------------------------------------------------------- styles

_DATE_IDS = set(range(14, 23)) | {27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54, 55,
                                  56, 57, 58}
_QUOTED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def _is_date_code(code: str) -> bool:
    c = _QUOTED.sub("", code).lower()
    return any(ch in c for ch in "ymd") and "general" not in c


@dataclass
class Styles:
    locked: list[bool] = field(default_factory=list)
    date: list[bool] = field(default_factory=list)

    def is_locked(self, index: int) -> bool:
        return self.locked[index] if 0 <= index < len(self.locked) else True

    def is_date(self, index: int) -> bool:
        return self.date[index] if 0 <= index < len(self.date) else False


def read_styles(pkg: Package, part: str | None) -> Styles:
    styles = Styles()
    if not part or pkg.find(part) is None:
        return styles
    fmts: dict[int, str] = {}
    style_xfs: list[list] = []
    xfs: list[list] = []  # [numFmtId, xfId, locked or None]
    target: list | None = None  # style_xfs or xfs while inside cellStyleXfs or cellXfs
    cur: list | None = None
    max_xfs = pkg.limits.max_strings

    def num_fmt(a):
        try:
            fmts[int(a.get("numFmtId", "-1"))] = a.get("formatCode", "")
        except ValueError:
            pass

    # fonts, fills and borders need no end handler: one handler outside the xf lists, one inside
    def outer_start(name, a):
        nonlocal target
        if name == "numFmt":
            num_fmt(a)
        elif name == "cellXfs" or name == "cellStyleXfs":
            target = xfs if name == "cellXfs" else style_xfs
            install(xf_start, xf_end)

    def xf_start(name, a):
        nonlocal cur, target
        if name == "xf":
            if len(xfs) + len(style_xfs) > max_xfs:
                raise Unreadable("file.too_many_cells", sheet="样式", limit=max_xfs)
            cur = [int(a.get("numFmtId", "0") or 0), int(a.get("xfId", "0") or 0), None]
            target.append(cur)
        elif name == "protection":
            if cur is not None:
                cur[2] = a.get("locked", "1") in TRUE
        elif name == "cellXfs" or name == "cellStyleXfs":
            target = xfs if name == "cellXfs" else style_xfs
        elif name == "numFmt":
            num_fmt(a)

    def xf_end(name):
        nonlocal cur
        if name == "xf":
            cur = None
        elif name == "cellXfs":
            raise _Stop
        elif name == "cellStyleXfs":
            install(outer_start, None)

    p = new_parser()
    install = _local_names(p, outer_start, None)
    try:
        feed(pkg, part, p)
    finally:
        xf_end = None  # the handlers call each other (a reference cycle): break it, so all is freed at once
    for num, xf_id, locked in xfs:
        if locked is None:
            parent = style_xfs[xf_id] if 0 <= xf_id < len(style_xfs) else None
            locked = parent[2] if parent is not None and parent[2] is not None else True
        styles.locked.append(locked)
        styles.date.append(num in _DATE_IDS or (num in fmts and _is_date_code(fmts[num])))
    return styles


# --------------------------------------------------------------------------- worksheets

_AFTER_MERGES = frozenset({
    "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions", "pageMargins",
    "pageSetup", "headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors",
    "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "picture", "oleObjects", "controls",
    "webPublishItems", "tableParts", "extLst",
})


def style_index(s) -> int:
    """The cellXfs index of a cell's raw s= attribute (0 when absent or invalid)."""
    if not s:
        return 0
    try:
        return int(s)
    except ValueError:
        return -1  # no such style: treated as locked (the default)


@dataclass
class Sheet:
    name: str
    cells: dict  # A1 -> (value, type, formula, style)
    merges: list[str]
    protected: bool
    row_styles: dict[int, int]  # 0-based row -> style, rows with customFormat
    col_styles: list[tuple[int, int, int]]  # (first col, last col, style), 0-based

    def style_at(self, ref: str, row: int, col: int) -> int:
        """The style of a cell, falling back to its row's, then its column's default."""
        c = self.cells.get(ref)
        if c is not None:
            return style_index(c[STYLE])
        if row in self.row_styles:
            return self.row_styles[row]
        for first, last, s in self.col_styles:
            if first <= col <= last:
                return s
        return 0


def read_sheet(pkg: Package, part: str, name: str, sst: list[str], limits: Limits = DEFAULT_LIMITS,
               max_row: int | None = None) -> Sheet:
    """Parse one worksheet part. Cells are ``(value, type, formula, style)`` tuples keyed by A1;
    ``value`` is the text of <v> with shared and inline strings resolved, ``style`` the raw s= text.

    ``max_row`` (0-based): stop at the first row below it — a sheet we do not
    use is only looked at where the plan's labels would be (rename detection).

    Speed matters here (every returned workbook is read in full): one pair of
    handlers for the elements around ``sheetData`` and one for the cells, swapped
    when ``sheetData`` opens and closes; text is gathered by ``list.append``
    itself (no Python call per text node) and taken at the end of ``v``, ``f`` or
    ``t``, the buffer being cleared at the start of each.
    """
    cells: dict[str, tuple] = {}
    merges: list[str] = []
    row_styles: dict[int, int] = {}
    col_styles: list[tuple[int, int, int]] = []
    shared: dict[str, tuple[int, int, str]] = {}
    max_cells = limits.max_cells
    max_elements = limits.max_elements
    cur_ref = cur_t = cur_s = cur_v = cur_f = f_attrs = None
    in_is = False
    rph = 0
    is_parts: list[str] = []
    protected = False
    row_no = -1
    last_col = -1
    last_ref = None
    n = 0
    buf: list[str] = []
    clear = buf.clear
    join = "".join

    def outer_start(tag, a):
        nonlocal protected, n
        n += 1
        clear()
        if tag == "sheetData":
            install(data_start, data_end)
        elif n > max_elements:
            raise Unreadable("file.too_many_cells", sheet=name, limit=max_elements)
        elif tag == "col":
            try:
                col_styles.append((int(a["min"]) - 1, int(a["max"]) - 1, int(a.get("style", "0") or 0)))
            except (KeyError, ValueError):
                pass
        elif tag == "mergeCell":
            ref = a.get("ref")
            if ref:
                merges.append(ref)
        elif tag == "sheetProtection":
            protected = a.get("sheet") in TRUE
        elif tag in _AFTER_MERGES:
            raise _Stop

    def outer_end(tag):
        pass

    def data_start(tag, a):
        nonlocal cur_ref, cur_t, cur_s, cur_v, cur_f, f_attrs, in_is, rph, row_no, last_col, last_ref, n
        n += 1
        if tag == "c":
            r = a.get("r")
            if r is None:  # allowed by the schema: the next column of the current row
                if last_ref is not None:
                    rc = split_ref(last_ref)
                    last_col = rc[1] if rc else last_col
                    last_ref = None
                last_col += 1
                r = make_ref(max(row_no, 0), last_col)
            else:
                last_ref = r
            cur_ref = r
            cur_t = a.get("t", "n")
            cur_s = a.get("s")
            cur_v = cur_f = None
            clear()
        elif tag == "v":
            clear()
            if n > max_elements:
                raise Unreadable("file.too_many_cells", sheet=name, limit=max_elements)
        elif tag == "f":
            clear()
            f_attrs = a if a else None
        elif tag == "row":
            clear()
            r = a.get("r")
            row_no = int(r) - 1 if r else row_no + 1
            if max_row is not None and row_no > max_row:
                raise _Stop
            last_col = -1
            last_ref = None
            if a.get("customFormat") in TRUE and a.get("s"):
                row_styles[row_no] = int(a["s"])
            if n > max_elements:
                raise Unreadable("file.too_many_cells", sheet=name, limit=max_elements)
        elif tag == "t":
            clear()
        elif tag == "is":
            in_is = True
            is_parts.clear()
        elif tag == "rPh":
            rph += 1
        elif n > max_elements:
            raise Unreadable("file.too_many_cells", sheet=name, limit=max_elements)

    def data_end(tag):
        nonlocal cur_v, cur_f, in_is, rph, f_attrs
        if tag == "c":
            t = cur_t
            v = cur_v
            if t == "s":
                try:
                    v = sst[int(v)]
                except (TypeError, ValueError, IndexError):
                    v = None
            elif t == "inlineStr" and is_parts:
                v = unescape(join(is_parts))
                is_parts.clear()
            cells[cur_ref] = (v, t, cur_f, cur_s)
            if len(cells) > max_cells:
                raise Unreadable("file.too_many_cells", sheet=name, limit=max_cells)
        elif tag == "v":
            cur_v = join(buf)
        elif tag == "f":
            f = join(buf)
            if f_attrs is not None and f_attrs.get("t") == "shared":
                si = f_attrs.get("si", "")
                rc = split_ref(cur_ref) or (0, 0)
                if f:
                    shared[si] = (rc[0], rc[1], f)
                elif si in shared:
                    r0, c0, base = shared[si]
                    f = shift_formula(base, rc[0] - r0, rc[1] - c0)
            cur_f = f  # an <f> element, even empty (a shared formula's child we cannot resolve), is a formula
            f_attrs = None
        elif tag == "t":
            if in_is and not rph:
                is_parts.append(join(buf))
        elif tag == "is":
            in_is = False
        elif tag == "rPh":
            rph -= 1
        elif tag == "sheetData":
            install(outer_start, outer_end)

    p = new_parser()
    install = _local_names(p, outer_start, outer_end)
    p.CharacterDataHandler = buf.append
    try:
        feed(pkg, part, p)
    finally:
        data_end = None  # the handlers call each other (a reference cycle): break it, so all is freed at once
    return Sheet(name, cells, merges, protected, row_styles, col_styles)


# --------------------------------------------------------------------------- one call


@dataclass
class Workbook:
    """What the importer needs from a package: structure, styles and the requested sheets."""

    package: Package
    info: WorkbookInfo
    styles: Styles
    shared_strings: list[str]
    sheets: dict[str, Sheet] = field(default_factory=dict)

    def peek_sheet(self, name: str, max_row: int) -> Sheet:
        """The rows up to ``max_row`` (0-based) of sheet ``name``, not kept: for sheets we do not use."""
        return self.sheets[name] if name in self.sheets else self._read(name, max_row)

    def _read(self, name: str, max_row: int | None = None) -> Sheet:
        ref = self.info.sheet(name)
        if ref is None:
            raise KeyError(name)
        if not ref.part or self.package.find(ref.part) is None:
            raise Unreadable("file.missing_part", part=ref.part or f"（工作表「{name}」）")
        extra = {} if max_row is None else {"max_row": max_row}
        return read_sheet(self.package, self.package.find(ref.part), name, self.shared_strings, self.package.limits,
                          **extra)

    def load_sheet(self, name: str) -> Sheet:
        """Parse sheet ``name`` (once); Unreadable when its part is missing."""
        if name in self.sheets:
            return self.sheets[name]
        sheet = self._read(name)
        self.sheets[name] = sheet
        return sheet


def open_workbook(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Workbook:
    """Check and open ``data``; sheets are parsed on demand with :meth:`Workbook.load_sheet`."""
    pkg = Package(data, limits)
    info = read_workbook_info(pkg)
    sst = read_shared_strings(pkg, info.shared_strings_part)
    styles = read_styles(pkg, info.styles_part)
    return Workbook(pkg, info, styles, sst)
