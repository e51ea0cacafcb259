"""Hostile and tampered files for the importer tests, generated at run time (no binary blobs).

``CORPUS`` maps a name to a function returning the bytes of one hostile file
and the finding code the importer must answer with. Edit helpers change a
real generated workbook the way a person (or a careless tool) would: through
openpyxl, or by rewriting one XML part inside the zip.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

# --------------------------------------------------------------------------- editing real workbooks


def zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def make_zip(parts: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return out.getvalue()


def edit_part(data: bytes, part: str, func) -> bytes:
    """Rewrite one XML part (text in, text out); the other parts are copied as they are."""
    parts = zip_parts(data)
    text = parts[part].decode("utf-8")
    new = func(text)
    assert new != text, f"edit of {part} changed nothing"
    parts[part] = new.encode("utf-8")
    return make_zip(parts)


def sheet_part(data: bytes, sheet_name: str) -> str:
    """The zip part of a sheet, found through workbook.xml and its rels."""
    parts = zip_parts(data)
    wb = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    m = re.search(r'<sheet [^>]*name="' + re.escape(sheet_name) + r'"[^>]*r:id="([^"]+)"', wb)
    rid = m.group(1)
    t = re.search(r'<Relationship Id="' + rid + r'"[^>]*Target="([^"]+)"', rels) or \
        re.search(r'<Relationship [^>]*Target="([^"]+)"[^>]*Id="' + rid + '"', rels)
    return "xl/" + t.group(1).lstrip("/").removeprefix("xl/")


def replace_cell(xml: str, ref: str, new_cell: str) -> str:
    """Replace the whole <c r="ref" ...>...</c> (or self-closed) element."""
    pat = re.compile(r'<c r="' + ref + r'"[^>]*?(?:/>|>.*?</c>)', re.S)
    assert pat.search(xml), ref
    return pat.sub(new_cell, xml, count=1)


def openpyxl_edit(data: bytes, func) -> bytes:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    func(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- OLE2 compound files

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal but well-formed CFB (v3) file holding ``streams`` (each stored in regular sectors)."""
    sector = 512
    bodies = [(name, body + b"\0" * (-len(body) % sector)) for name, body in streams.items()]
    bodies = [(n, b if len(b) >= 4096 else b + b"\0" * (4096 - len(b))) for n, b in bodies]
    fat = [FATSECT, ENDOFCHAIN]  # sector 0: FAT, sector 1: directory
    starts = []
    for _name, body in bodies:
        n = len(body) // sector
        first = len(fat)
        starts.append(first)
        fat += [first + i + 1 for i in range(n - 1)] + [ENDOFCHAIN]
    assert len(fat) <= sector // 4
    fat += [FREESECT] * (sector // 4 - len(fat))

    def entry(name, typ, child=NOSTREAM, right=NOSTREAM, start=ENDOFCHAIN, size=0):
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), typ, 1)
                + struct.pack("<III", NOSTREAM, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, child=1 if bodies else NOSTREAM)]
    for i, ((name, _body), start) in enumerate(zip(bodies, starts)):
        right = i + 2 if i + 1 < len(bodies) else NOSTREAM
        entries.append(entry(name, 2, right=right, start=start, size=len(streams[name])))
    directory = b"".join(entries).ljust(sector, b"\0")
    assert len(directory) == sector
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108)
    assert len(header) == 512
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + b"".join(b for _, b in bodies)


def encrypted_workbook() -> bytes:
    """What Excel writes for a password-protected (encrypted) .xlsx: an OLE2 file, not a zip."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<?xml version=\"1.0\"?><encryption/>"
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": struct.pack("<Q", 12345) + b"\x8a" * 5000})


def old_xls() -> bytes:
    """An Excel 97-2003 workbook: an OLE2 file with a BIFF8 'Workbook' stream."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0)
    return compound_file({"Workbook": bof + struct.pack("<HH", 0x000A, 0)})


# --------------------------------------------------------------------------- zip-level hostiles


def zip_bomb(size: int = 40 * 1024 * 1024) -> bytes:
    """A workbook-looking zip whose sheet expands ~1000:1 (declared honestly in the directory)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    body = b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(chunk, crc)
    return _raw_zip([("[Content_Types].xml", b"<Types/>", None), ("xl/worksheets/sheet1.xml", body, (size, crc))])


def lying_zip_bomb(real_size: int = 30 * 1024 * 1024) -> bytes:
    """A zip whose directory declares a small size for an entry that expands hugely."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"<c/>" * (1 << 18)
    body = b"".join(comp.compress(chunk) for _ in range(real_size >> 20)) + comp.flush()
    return _raw_zip([("xl/workbook.xml", body, (1000, 0))])


def _raw_zip(entries) -> bytes:
    """A zip written by hand: (name, data, None | (declared uncompressed size, crc) for pre-deflated data)."""
    out = io.BytesIO()
    central = []
    for name, data, declared in entries:
        raw_name = name.encode("utf-8")
        if declared is None:
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = comp.compress(data) + comp.flush()
            usize, crc = len(data), zlib.crc32(data)
        else:
            body = data
            usize, crc = declared
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), usize,
                              len(raw_name), 0) + raw_name + body)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body), usize,
                                   len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)
    cd_start = out.tell()
    cd = b"".join(central)
    out.write(cd)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), len(cd), cd_start, 0))
    return out.getvalue()


def with_part(workbook: bytes, part: str, body: bytes) -> bytes:
    parts = zip_parts(workbook)
    parts[part] = body
    return make_zip(parts)


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>"""


def many_sheets(n: int = 10_000, parts: bool = True) -> bytes:
    """A workbook listing ``n`` sheets (with a part each when ``parts``)."""
    sheets = "".join(f'<sheet name="S{i}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i in range(n))
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
    files = {
        "[Content_Types].xml": b"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
        "xl/workbook.xml": ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                            f"<sheets>{sheets}</sheets></workbook>").encode(),
        "xl/_rels/workbook.xml.rels": ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                       f'relationships">{rels}</Relationships>').encode(),
    }
    if parts:
        for i in range(n):
            files[f"xl/worksheets/sheet{i + 1}.xml"] = b"<worksheet><sheetData/></worksheet>"
    return make_zip(files, zipfile.ZIP_STORED)


def many_cells(workbook: bytes, part: str, n: int = 250_000) -> bytes:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="B{r}"><v>2</v></c></row>' for r in range(1, n // 2 + 2))
    body = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{rows}</sheetData></worksheet>").encode()
    return with_part(workbook, part, body)


def deep_nesting(workbook: bytes, part: str, depth: int = 200_000) -> bytes:
    body = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + b"<x>" * depth + b"</x>" * depth + b"</sheetData></worksheet>")
    return with_part(workbook, part, body)


def corrupt_deflate(workbook: bytes, part: str = "xl/sharedStrings.xml") -> bytes:
    """Flip bytes inside the compressed data of one entry (the directory stays intact)."""
    buf = bytearray(workbook)
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        info = zf.getinfo(part)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 20, start + min(info.compress_size, 400), 7):
        buf[k] ^= 0x5A
    return bytes(buf)


def zip_encrypted_entry(workbook: bytes) -> bytes:
    """Set the 'encrypted' flag of every entry (legacy zip encryption)."""
    buf = bytearray(workbook)
    i = 0
    while True:
        i = buf.find(b"PK\x03\x04", i)
        if i < 0:
            break
        buf[i + 6] |= 1
        i += 4
    i = 0
    while True:
        i = buf.find(b"PK\x01\x02", i)
        if i < 0:
            break
        buf[i + 8] |= 1
        i += 4
    return bytes(buf)


def docx_like() -> bytes:
    return make_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def corpus(workbook: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected finding code); ``workbook`` is a real generated workbook."""
    sheet1 = "xl/worksheets/sheet1.xml"
    return {
        "empty": (b"", "file.empty"),
        "zip_bomb": (zip_bomb(), "file.zip_bomb"),
        "zip_bomb_lying_directory": (lying_zip_bomb(), "file.corrupt"),
        "billion_laughs": (with_part(workbook, "xl/sharedStrings.xml", BILLION_LAUGHS), "file.xml_forbidden"),
        "external_entity": (with_part(workbook, "xl/sharedStrings.xml", XXE), "file.xml_forbidden"),
        "billion_laughs_in_sheet": (with_part(workbook, sheet1, BILLION_LAUGHS.replace(b"<sst", b"<worksheet")
                                              .replace(b"</sst>", b"</worksheet>")), "file.xml_forbidden"),
        "truncated_zip": (workbook[: len(workbook) // 2], "file.truncated"),
        "truncated_tail": (workbook[:-10], "file.truncated"),
        "corrupt_deflate": (corrupt_deflate(workbook), "file.corrupt"),
        "encrypted_ooxml": (encrypted_workbook(), "file.encrypted"),
        "zip_encrypted_entries": (zip_encrypted_entry(workbook), "file.encrypted"),
        "old_xls": (old_xls(), "file.xls"),
        "csv_renamed_gbk": ("单位,年度,新收申请\n某某局,2023,12\n".encode("gbk"), "file.text"),
        "csv_renamed_utf8": ("\ufeff单位,年度\n某某局,2023\n".encode(), "file.text"),
        "html_renamed": (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "file.text"),
        "pdf_renamed": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "file.other_type"),
        "random_bytes": (bytes(range(256)) * 8, "file.unknown_type"),
        "docx_renamed": (docx_like(), "file.not_spreadsheet"),
        "ten_thousand_sheets": (many_sheets(10_000), "file.too_many_parts"),
        "ten_thousand_sheets_listed": (many_sheets(10_000, parts=False), "file.too_many_sheets"),
        "too_many_cells": (many_cells(workbook, sheet1), "file.too_many_cells"),
        "malformed_xml": (with_part(workbook, "xl/workbook.xml", b"<workbook><sheets>"), "file.xml_malformed"),
        "missing_workbook_part": (make_zip({k: v for k, v in zip_parts(workbook).items() if k != "xl/workbook.xml"}),
                                  "file.missing_part"),
    }


def with_extra_sheets(data: bytes, n_sheets: int = 92, cells: int = 32_000, rename: int = 0, seed: int = 1) -> bytes:
    """``data`` with ``n_sheets`` added sheets of ``cells`` random one-digit numbers each (issue 11: 2.3 MB,
    within every documented limit), and the first ``rename`` planned sheets renamed."""
    import random

    parts = zip_parts(data)
    wb = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    ct = parts["[Content_Types].xml"].decode("utf-8")
    rnd = random.Random(seed)
    cols = 40
    body = "".join("<row>" + "".join(f"<c><v>{rnd.randrange(10)}</v></c>" for _ in range(cols)) + "</row>"
                   for _ in range(cells // cols))
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
           'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           + body + "</sheetData></worksheet>").encode("utf-8")
    sheets, rel, types = [], [], []
    for i in range(n_sheets):
        name = f"xl/worksheets/extra{i}.xml"
        parts[name] = xml
        sheets.append(f'<sheet name="额外{i}" sheetId="{1000 + i}" r:id="rIdX{i}"/>')
        rel.append(f'<Relationship Id="rIdX{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/extra{i}.xml"/>')
        types.append(f'<Override PartName="/{name}" ContentType="application/vnd.openxmlformats-officedocument.'
                     'spreadsheetml.worksheet+xml"/>')
    wb = wb.replace("</sheets>", "".join(sheets) + "</sheets>")
    for i in range(rename):
        wb = re.sub(r'<sheet name="(?!改名)(?!额外)[^"]+"', f'<sheet name="改名{i}"', wb, count=1)
    parts["xl/workbook.xml"] = wb.encode("utf-8")
    parts["xl/_rels/workbook.xml.rels"] = rels.replace("</Relationships>", "".join(rel) + "</Relationships>").encode()
    parts["[Content_Types].xml"] = ct.replace("</Types>", "".join(types) + "</Types>").encode("utf-8")
    return make_zip(parts)
