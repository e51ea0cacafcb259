"""Where the format folders and the embedded examples are found.

After a normal install they are package data (``xlsxgen/templates``,
``xlsxgen/examples``); in a source checkout they are the top-level
``templates/`` and ``examples/`` folders. ``XLSXGEN_TEMPLATES`` may name extra
folders (separated by the OS path separator) holding more format versions.
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"找不到 {name} 文件夹（安装不完整？）")


def templates_root() -> Path:
    return _first_existing("templates")


def examples_root() -> Path:
    return _first_existing("examples")


def format_dirs() -> dict[str, Path]:
    """Map each installed format id to its folder (a folder with a format.yaml)."""
    roots = [templates_root()]
    extra = os.environ.get("XLSXGEN_TEMPLATES")
    if extra:
        roots += [Path(p) for p in extra.split(os.pathsep) if p]
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for sub in sorted(root.iterdir()):
            if (sub / "format.yaml").is_file():
                found.setdefault(sub.name, sub)
    return found
