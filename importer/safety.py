"""Trust nothing: size limits, file-type sniffing and a zip package that refuses bombs.

Every check here runs *before* anything is decompressed or parsed:

1. the file size (and emptiness);
2. the first bytes: an OLE2 compound document is either an old ``.xls`` or an
   encrypted OOXML workbook (its directory holds an ``EncryptedPackage``
   stream) — we say which; text (CSV, HTML, XML, JSON), PDF and archives are
   named;
3. the zip end-of-central-directory record, read from the tail of the file:
   a missing record means a truncated file, and the entry count is checked
   before :mod:`zipfile` builds its directory;
4. the central directory: entry count, encrypted entries, per-entry and total
   declared uncompressed size, and the compression ratio of each entry.

While a part is decompressed the same limits are enforced again on the bytes
actually produced (a lying directory cannot get past them), see
:meth:`Package.chunks` and, for parts up to :data:`SMALL_PART` (one-step
decompression, CRC-32 checked, never more than the declared size),
:meth:`Package.read_small`.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import stat as _stat
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass

from importer.findings import Unreadable
from xlsxgen.files import display_path, os_reason

MB = 1024 * 1024
SMALL_PART = 1 * MB  # parts up to this size are decompressed in one step (see Package.read_small)


@dataclass(frozen=True)
class Limits:
    max_file_size: int = 20 * MB
    max_entries: int = 1000
    max_entry_size: int = 50 * MB  # uncompressed, one part
    max_total_size: int = 50 * MB  # uncompressed, all parts read
    max_ratio: float = 200.0
    ratio_floor: int = 256 * 1024  # parts smaller than this are never bombs, whatever their ratio
    max_sheets: int = 100
    max_cells: int = 200_000  # per sheet scanned
    max_elements: int = 1_000_000  # XML elements per worksheet part
    max_seconds: float = 10.0  # time budget for reading one package (a guard; real files take milliseconds)
    max_strings: int = 200_000  # shared strings
    max_json_size: int = 5 * MB


DEFAULT_LIMITS = Limits()

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
EOCD = b"PK\x05\x06"


def human_size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


def read_file(path, limits: Limits = DEFAULT_LIMITS, max_size: int | None = None) -> bytes:
    """The bytes of ``path``, refusing before reading when it is too large."""

    max_size = max_size or limits.max_file_size
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Unreadable("file.not_found", path=display_path(os.fsdecode(path))[0]) from None
    except OSError as e:
        raise Unreadable("file.io_error", detail=os_reason(e)) from None

    if not _stat.S_ISREG(st.st_mode):
        raise Unreadable("file.not_a_file", path=display_path(os.fsdecode(path))[0])
    if st.st_size > max_size:
        raise Unreadable("file.too_large", size=human_size(st.st_size), limit=human_size(max_size))
    try:
        with open(path, "rb") as fh:
            # the size just seen, then whatever it grew by (read(max_size + 1) allocates max_size at once)
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += fh.read(max_size + 1 - len(data))
    except OSError as e:
        raise Unreadable("file.io_error", detail=os_reason(e)) from None
    if len(data) > max_size:  # grew while we looked
        raise Unreadable("file.too_large", size=human_size(len(data)), limit=human_size(max_size))
    return data


# --------------------------------------------------------------------------- sniffing


def _ole_streams(data: bytes) -> str:
    """Which workbook-related stream names an OLE2 file's directory mentions."""
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return "encrypted"
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    return "other"


def _looks_like_text(head: bytes) -> str | None:
    """Decoded text when ``head`` is text (UTF-8/UTF-16/GB18030), else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = head.decode("utf-16")
        except UnicodeDecodeError:
            text = head[2:].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", errors="ignore")
    else:
        text = None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = head.decode(enc)
                break
            except UnicodeDecodeError as e:
                # a multi-byte character cut by the end of the sample is fine
                if e.start >= len(head) - 4:
                    text = head[: e.start].decode(enc, errors="ignore")
                    break
        if text is None:
            return None
    if not text:
        return None
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return text if bad <= len(text) // 100 else None


def text_kind(text: str) -> str:
    """A Chinese description of a text file's kind."""
    s = text.lstrip("\ufeff \t\r\n")
    low = s[:2000].lower()
    if low.startswith("<"):
        if "<html" in low or "<!doctype html" in low or "<table" in low:
            return "网页文件（HTML，例如“另存为网页”得到的文件）"
        if "urn:schemas-microsoft-com:office:spreadsheet" in low:
            return "Excel 2003 XML 表格（不是 .xlsx）"
        return "XML 文本文件"
    if s.startswith(("{", "[")):
        return "JSON 文本文件（规范数据请以 .json 为扩展名）"
    first = s.splitlines()[0] if s else ""
    if "," in first or "，" in first or "\t" in first or ";" in first:
        return "逗号或制表符分隔的文本文件（CSV）"
    return "纯文本文件"


def sniff(data: bytes) -> None:
    """Raise :class:`Unreadable` unless ``data`` starts like a zip package."""
    if not data:
        raise Unreadable("file.empty")
    head = data[:8]
    if head.startswith(ZIP_MAGICS):
        return
    if head == OLE_MAGIC:
        kind = _ole_streams(data)
        raise Unreadable({"encrypted": "file.encrypted", "xls": "file.xls"}.get(kind, "file.ole_other"))
    if data.startswith(b"%PDF"):
        raise Unreadable("file.other_type", what="一个 PDF 文件")
    for magic, what in ((b"\x1f\x8b", "一个 gzip 压缩包"), (b"Rar!", "一个 RAR 压缩包"), (b"7z\xbc\xaf", "一个 7z 压缩包"),
                        (b"\x89PNG", "一张 PNG 图片"), (b"\xff\xd8\xff", "一张 JPEG 图片"), (b"GIF8", "一张 GIF 图片")):
        if data.startswith(magic):
            raise Unreadable("file.other_type", what=what)
    text = _looks_like_text(data[:4096])
    if text is not None:
        raise Unreadable("file.text", what=text_kind(text))
    raise Unreadable("file.unknown_type", magic=data[:8].hex(" "))


def _eocd_entries(data: bytes) -> int:
    """Entry count from the end-of-central-directory record (before zipfile reads anything)."""
    tail_start = max(0, len(data) - (22 + 65535))
    i = data.rfind(EOCD, tail_start)
    if i < 0 or len(data) - i < 22:
        raise Unreadable("file.truncated")
    (_sig, _disk, _cd_disk, _n_here, n_total, _cd_size, _cd_off, _clen) = struct.unpack("<4s4H2LH", data[i:i + 22])
    if n_total == 0xFFFF:  # a zip64 directory: no workbook this small needs one
        raise Unreadable("file.too_many_parts", count="65535+", limit=DEFAULT_LIMITS.max_entries)
    return n_total


# --------------------------------------------------------------------------- the package


class Package:
    """A zip package opened with every limit checked before decompressing."""

    def __init__(self, data: bytes, limits: Limits = DEFAULT_LIMITS):
        self.limits = limits
        self.data = data
        if len(data) > limits.max_file_size:
            raise Unreadable("file.too_large", size=human_size(len(data)), limit=human_size(limits.max_file_size))
        sniff(data)
        n = _eocd_entries(data)
        if n > limits.max_entries:
            raise Unreadable("file.too_many_parts", count=n, limit=limits.max_entries)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error):
            raise Unreadable("file.truncated") from None
        except (NotImplementedError, OSError, RuntimeError) as e:
            raise Unreadable("file.corrupt", detail=_zip_problem(e)) from None
        if len(infos) > limits.max_entries:
            raise Unreadable("file.too_many_parts", count=len(infos), limit=limits.max_entries)
        self.infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if info.flag_bits & 0x1:
                raise Unreadable("file.encrypted")
            if name in self.infos:
                raise Unreadable("file.corrupt", detail=f"部件 {name} 重复出现")
            self._check_declared(info)
            total += info.file_size
            self.infos[name] = info
        if total > limits.max_total_size:
            raise Unreadable("file.too_big_uncompressed", part="（全部）", size=human_size(total),
                             limit=human_size(limits.max_total_size))
        self._lower = {k.lower(): k for k in self.infos}
        self.read_total = 0
        self.deadline = time.monotonic() + limits.max_seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise Unreadable("file.too_slow", seconds=int(self.limits.max_seconds))

    def _check_declared(self, info: zipfile.ZipInfo) -> None:
        lim = self.limits
        if info.file_size > lim.max_entry_size:
            raise Unreadable("file.too_big_uncompressed", part=info.filename, size=human_size(info.file_size),
                             limit=human_size(lim.max_entry_size))
        if info.file_size > lim.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > lim.max_ratio:
                raise Unreadable("file.zip_bomb", part=info.filename, ratio=int(ratio), limit=int(lim.max_ratio))

    def find(self, name: str) -> str | None:
        """The stored name of part ``name`` (zip names are case-sensitive; Office treats them as not)."""
        if name in self.infos:
            return name
        return self._lower.get(name.lower())

    def names(self) -> list[str]:
        return list(self.infos)

    def chunks(self, name: str, size: int = 256 * 1024):
        """Yield the decompressed bytes of part ``name``, enforcing the limits on what is produced."""
        stored = self.find(name)
        if stored is None:
            raise Unreadable("file.missing_part", part=name)
        info = self.infos[stored]
        lim = self.limits
        produced = 0
        try:
            with self.zf.open(info) as fh:
                while True:
                    block = fh.read(size)
                    if not block:
                        break
                    produced += len(block)
                    self.read_total += len(block)
                    if produced > lim.max_entry_size or produced > info.file_size:
                        raise Unreadable("file.too_big_uncompressed", part=stored, size=human_size(produced),
                                         limit=human_size(min(lim.max_entry_size, info.file_size)))
                    if self.read_total > lim.max_total_size:
                        raise Unreadable("file.too_big_uncompressed", part=stored,
                                         size=human_size(self.read_total), limit=human_size(lim.max_total_size))
                    if produced > lim.ratio_floor and produced / max(info.compress_size, 1) > lim.max_ratio:
                        raise Unreadable("file.zip_bomb", part=stored, ratio=int(produced / max(info.compress_size, 1)),
                                         limit=int(lim.max_ratio))
                    yield block
        except Unreadable:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error, NotImplementedError, OSError,
                RuntimeError) as e:
            raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(e)}") from None

    def read(self, name: str) -> bytes:
        data = self.read_small(name)
        return data if data is not None else b"".join(self.chunks(name))

    def read_small(self, name: str) -> bytes | None:
        """The decompressed bytes of a small part in one step, or None when the part should be streamed.

        The same checks as :meth:`chunks` (declared and produced size, total,
        ratio) plus what :mod:`zipfile` checks when it opens an entry (local
        header signature and name, CRC-32, a complete deflate stream), without
        the cost of a :class:`zipfile.ZipExtFile` per part. Parts larger than
        :data:`SMALL_PART`, and entries of an unusual kind (another compression
        method, flags zipfile refuses), go through :meth:`chunks`.
        """
        stored = self.find(name)
        if stored is None:
            raise Unreadable("file.missing_part", part=name)
        info = self.infos[stored]
        if (info.file_size > SMALL_PART or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
                or info.flag_bits & 0x61):
            return None
        data = self.data
        ho = info.header_offset
        try:
            (sig, _v, flags, _m, _t, _d, _crc, _cs, _us, n, m) = struct.unpack_from("<4s5H3L2H", data, ho)
        except struct.error:
            raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(EOFError())}") from None
        fname = data[ho + 30:ho + 30 + n]
        try:
            fname_str = fname.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError:
            fname_str = None
        if sig != b"PK\x03\x04" or fname_str != info.orig_filename:
            raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(zipfile.BadZipFile())}")
        start = ho + 30 + n + m
        comp = data[start:start + info.compress_size]
        if len(comp) < info.compress_size:
            raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(EOFError())}")
        size = info.file_size  # <= max_entry_size (checked when the package was opened)
        if not size:
            out = b""
        elif info.compress_type == zipfile.ZIP_STORED:
            out = comp[:size]
        else:
            try:  # like zipfile: never more than the declared size (a lying directory then fails the CRC)
                out = zlib.decompressobj(-15).decompress(comp, size)
            except zlib.error as e:
                raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(e)}") from None
        produced = len(out)
        if produced < size:
            raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(EOFError())}")
        lim = self.limits
        self.read_total += produced
        if self.read_total > lim.max_total_size:
            raise Unreadable("file.too_big_uncompressed", part=stored, size=human_size(self.read_total),
                             limit=human_size(lim.max_total_size))
        if produced > lim.ratio_floor and produced / max(info.compress_size, 1) > lim.max_ratio:
            raise Unreadable("file.zip_bomb", part=stored, ratio=int(produced / max(info.compress_size, 1)),
                             limit=int(lim.max_ratio))
        if zlib.crc32(out) != info.CRC:
            raise Unreadable("file.corrupt", detail=f"部件 {stored} {_zip_problem(zipfile.BadZipFile('Bad CRC-32'))}")
        return out


def _zip_problem(e: Exception) -> str:
    """A Chinese description of a zipfile/zlib exception."""
    text = str(e)
    if "CRC" in text:
        return "数据校验失败（CRC 不符）"
    if isinstance(e, NotImplementedError) or "compression" in text.lower():
        return "使用了不支持的压缩方式"
    if "password" in text.lower() or "encrypt" in text.lower():
        return "已加密"
    return "压缩数据损坏"


@functools.lru_cache(maxsize=4096)
def resolve_target(base_part: str, target: str) -> str:
    """A relationship target relative to the folder of ``base_part`` (or absolute from the root)."""
    target = target.replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    folder = posixpath.dirname(base_part)
    return posixpath.normpath(posixpath.join(folder, target))
