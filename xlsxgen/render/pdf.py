"""PDF: the final DOCX converted by LibreOffice (``soffice --headless --convert-to pdf``).

LibreOffice is found as ``$XLSXGEN_SOFFICE``, then ``soffice``/``libreoffice`` on
PATH, then the usual install folders of Windows and macOS. When it is missing
the user is told, in Chinese, how to install it (or to save the DOCX as PDF
from Word/WPS).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from xlsxgen.errors import XlsxgenError

ENV = "XLSXGEN_SOFFICE"
CANDIDATES = (
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    "/opt/libreoffice/program/soffice",
    "/usr/lib/libreoffice/program/soffice",
)
TIMEOUT = 180

INSTALL_HINT = (
    "生成 PDF 需要 LibreOffice，但本机没有找到（soffice）。请安装后重试：\n"
    "  Windows、macOS：从 https://zh-cn.libreoffice.org/download/ 下载安装 LibreOffice；\n"
    "  统信 UOS、麒麟、Debian、Ubuntu：sudo apt install libreoffice-writer；\n"
    "  CentOS、openEuler 等：sudo dnf install libreoffice-writer。\n"
    f"已安装但不在默认位置时，把 soffice 的完整路径写入环境变量 {ENV}。\n"
    "也可以先用 --format docx --final 生成 Word 文档，再用 Word 或 WPS“另存为 PDF”。"
)


class PdfError(XlsxgenError):
    """LibreOffice missing or the conversion failed."""


def find_soffice() -> str:
    """The LibreOffice executable; :class:`PdfError` with installation advice when there is none."""
    env = os.environ.get(ENV)
    if env:
        if Path(env).is_file():
            return env
        raise PdfError(f"环境变量 {ENV} 指向的 {env} 不存在。\n" + INSTALL_HINT)
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for p in CANDIDATES:
        if Path(p).is_file():
            return p
    raise PdfError(INSTALL_HINT)


def convert(path: Path, out_dir: Path, fmt: str = "pdf") -> Path:
    """Convert the file ``path`` with LibreOffice into ``out_dir``; the converted file."""
    soffice = find_soffice()
    with tempfile.TemporaryDirectory(prefix="xlsxgen-lo-") as profile:
        cmd = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",  # own profile: works while LibreOffice is open
            "--headless",
            "--norestore",
            "--convert-to",
            fmt,
            "--outdir",
            str(out_dir),
            str(path),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"LibreOffice 转换 PDF 超时（{TIMEOUT} 秒）") from None
        except OSError as e:
            raise PdfError(f"无法运行 LibreOffice（{soffice}）：{e.strerror or e}\n" + INSTALL_HINT) from None
    out = out_dir / (path.stem + "." + fmt)
    if proc.returncode != 0 or not out.is_file():
        detail = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip().splitlines()
        raise PdfError("LibreOffice 未能生成 PDF" + (f"：{detail[-1]}" if detail else ""))
    return out


def docx_to_pdf(docx: bytes) -> bytes:
    """The PDF of a DOCX document (bytes in, bytes out)."""
    with tempfile.TemporaryDirectory(prefix="xlsxgen-pdf-") as tmp:
        src = Path(tmp) / "report.docx"
        src.write_bytes(docx)
        return convert(src, Path(tmp)).read_bytes()
