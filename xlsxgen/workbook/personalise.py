"""Build a roster's workbooks fast: generate once, then personalise the bytes.

The workbooks of one roster differ only in the agency's name and code. A
:class:`Personaliser` generates one base workbook with unique placeholders,
then for each agency replaces the placeholders in the two parts that hold
them (``xl/sharedStrings.xml`` and ``docProps/core.xml``), recompresses just
those, and copies every other zip entry's compressed bytes unchanged.

The result is byte-identical to :func:`xlsxgen.workbook.writer.build_workbook` for
the same arguments (the tests compare them). Where that could not hold — a
name that collides with another string of the workbook (shared-string indices
would change), leading/trailing spaces, control characters, an empty code —
it falls back to a full generation.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

from xlsxgen.workbook.writer import build_workbook

_NAME = "XLSXGENAGENCYNAMEPLACEHOLDERQ7"
_CODE = "XLSXGENAGENCYCODEPLACEHOLDERQ7"
_PARTS = ("xl/sharedStrings.xml", "docProps/core.xml")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]|_x[0-9A-Fa-f]{4}_")


def _escape(s: str) -> str:
    """Escape text exactly as xlsxwriter escapes element data."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Entry:
    __slots__ = ("name", "local", "central", "data", "crc", "csize", "usize")


def _split_zip(blob: bytes) -> tuple[list[_Entry], bytes]:
    """The entries of a zip written by :mod:`zipfile` (no zip64, no data descriptors)."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        infos = z.infolist()
    end = blob.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", blob[end + 12 : end + 20])
    pos = cd_offset
    for info in infos:
        e = _Entry()
        e.name = info.filename
        n, m, k = struct.unpack("<HHH", blob[pos + 28 : pos + 34])
        e.central = bytearray(blob[pos : pos + 46 + n + m + k])
        pos += 46 + n + m + k
        ho = info.header_offset
        ln, lm = struct.unpack("<HH", blob[ho + 26 : ho + 30])
        e.local = bytearray(blob[ho : ho + 30 + ln + lm])
        start = ho + 30 + ln + lm
        e.data = blob[start : start + info.compress_size]
        e.crc, e.csize, e.usize = info.CRC, info.compress_size, info.file_size
        entries.append(e)
    return entries, bytes(blob[end:])


class Personaliser:
    """Workbooks of one format, year and (absent) data, for many agencies."""

    def __init__(self, spec, year: int, data=None):
        self.spec = spec
        self.year = year
        self.data = data  # optional figures common to every workbook (tests, benchmarks, migrations)
        base = build_workbook(spec, year=year, agency_name=_NAME, agency_code=_CODE, data=data)
        self.entries, self.end = _split_zip(base)
        self.texts = {}
        with zipfile.ZipFile(io.BytesIO(base)) as z:
            for part in _PARTS:
                self.texts[part] = z.read(part).decode("utf-8")
        sst = self.texts["xl/sharedStrings.xml"]
        self.strings = set(re.findall(r"<t(?: [^>]*)?>([^<]*)</t>", sst))
        self.fast = 0
        self.full = 0

    def _safe(self, name: str, code: str) -> bool:
        if not name or not code or name == code:
            return False
        for s in (name, code):
            if s != s.strip() or _UNSAFE.search(s) or _NAME in s or _CODE in s:
                return False
        for s in self.strings:
            if _NAME in s or _CODE in s:
                continue
            if _escape(name) == s or _escape(code) == s:
                return False
            # a personalised string (e.g. the agency line) equal to an existing one
        for s in self.strings:
            if _NAME in s and s.replace(_NAME, _escape(name)) in self.strings:
                return False
            if _CODE in s and s.replace(_CODE, _escape(code)) in self.strings:
                return False
        return True

    def build(self, agency_name: str, agency_code: str = "") -> bytes:
        """The workbook of one agency: the same bytes as a full generation."""
        if not self._safe(agency_name, agency_code):
            self.full += 1
            return build_workbook(self.spec, year=self.year, agency_name=agency_name, agency_code=agency_code,
                                  data=self.data)
        self.fast += 1
        new = {
            part: text.replace(_NAME, _escape(agency_name)).replace(_CODE, _escape(agency_code)).encode("utf-8")
            for part, text in self.texts.items()
        }
        out = bytearray()
        centrals = []
        for e in self.entries:
            local, central = e.local, e.central
            data, crc, csize, usize = e.data, e.crc, e.csize, e.usize
            if e.name in new:
                raw = new[e.name]
                comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
                data = comp.compress(raw) + comp.flush()
                crc, csize, usize = zlib.crc32(raw), len(data), len(raw)
                local = bytearray(local)
                struct.pack_into("<III", local, 14, crc, csize, usize)
                central = bytearray(central)
                struct.pack_into("<III", central, 16, crc, csize, usize)
            else:
                central = bytearray(central)
            struct.pack_into("<I", central, 42, len(out))
            out += local
            out += data
            centrals.append(central)
        cd_offset = len(out)
        for c in centrals:
            out += c
        end = bytearray(self.end)
        struct.pack_into("<II", end, 12, len(out) - cd_offset, cd_offset)
        out += end
        return bytes(out)
