"""Round-trip importer and validator: read any returned file, trust nothing, explain every problem.

Public API::

    read_workbook(path_or_bytes, *, name=None) -> ImportResult   # .xlsx, import findings only
    read_json(path_or_bytes, *, name=None) -> ImportResult       # canonical JSON, import findings only
    load_source(path, *, previous=None) -> ImportResult          # either, plus totals and every rule
    validate_result(result, previous=None) -> ImportResult        # add the validation findings

Every input gives an :class:`ImportResult`; none raises. A file that cannot be
read at all has ``status == "unreadable"`` and a one-line ``reason``.
See ``docs/importer.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

from importer.findings import KINDS, Finding, Unreadable, make
from importer.json_import import import_json_bytes
from importer.result import ImportResult
from importer.safety import DEFAULT_LIMITS, Limits, read_file
from importer.validate import validate_submission
from importer.workbook_import import import_workbook_bytes
from xlsxgen.files import display_path

__all__ = [
    "ImportResult", "Finding", "KINDS", "Limits", "read_workbook", "read_json", "load_source", "validate_result",
    "is_json",
]


def _guard(path: str, source: str, func):
    """Run ``func``; any unexpected exception becomes an unreadable result, never a crash."""
    try:
        return func()
    except Unreadable as u:
        return ImportResult(path, source, findings=[u.finding], unreadable=u.finding)
    except MemoryError:
        f = make("file.internal_error", detail="内存不足")
        return ImportResult(path, source, findings=[f], unreadable=f)
    except RecursionError:
        f = make("file.xml_malformed", part="（文件）", detail="嵌套层数过多")
        return ImportResult(path, source, findings=[f], unreadable=f)
    except Exception as e:  # noqa: BLE001 - the contract: no input may crash the program
        f = make("file.internal_error", detail=f"{type(e).__name__}: {e}")
        return ImportResult(path, source, findings=[f], unreadable=f)


def _label(path_or_bytes, name) -> str:
    """The name a result carries (shown and written in JSON): any path made readable and printable without loss
    (a GBK name decoded, other undecodable bytes spelled ``\\xNN``: :func:`xlsxgen.files.display_path`)."""
    if name:
        return display_path(os.fsdecode(name))[0]
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return display_path(os.fsdecode(path_or_bytes))[0]


def _bytes_of(path_or_bytes, limits: Limits, max_size: int | None = None) -> tuple[bytes, str]:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes), "<bytes>"
    return read_file(path_or_bytes, limits, max_size), str(path_or_bytes)


def read_workbook(path_or_bytes, *, name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Import a workbook (path or bytes) against its plan: identity, tampering, values."""

    label = _label(path_or_bytes, name)

    def run():
        data, _ = _bytes_of(path_or_bytes, limits)
        return import_workbook_bytes(data, label, limits)

    return _guard(label, "workbook", run)


def read_json(path_or_bytes, *, name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Import canonical JSON (path or bytes) from an untrusted source."""

    label = _label(path_or_bytes, name)

    def run():
        data, _ = _bytes_of(path_or_bytes, limits, limits.max_json_size)
        return import_json_bytes(data, label, limits)

    return _guard(label, "json", run)


def is_json(path, head: bytes | None = None) -> bool:
    """A canonical-JSON path: ``.json``, or text starting with ``{``."""
    if str(path).lower().endswith(".json"):
        return True
    if head is None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError:
            return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def validate_result(result: ImportResult, previous=None) -> ImportResult:
    """Add totals and rule findings to ``result`` (once). ``previous``: ImportResult or Submission."""

    from importer.published.result import PublishedResult

    if result.validated or result.submission is None or result.spec is None:
        return result
    prev_sub = previous.submission if isinstance(previous, ImportResult) else previous

    def run():
        if isinstance(result, PublishedResult):  # JSON written from a published report: checked as published
            from importer.published.lint import lint

            return lint(result, previous if previous is not None and getattr(previous, "submission", 1) is not None
                        else None)
        result.findings.extend(validate_submission(
            result.spec, result.submission, prev_sub, where=result.locator, claimed=result.claimed,
            previous_values=result.previous_values, unreliable=result.unreliable, recomputed=result.recomputed))
        result.validated = True
        return result

    out = _guard(result.path, result.source, run)
    if out is not result:  # an internal error while validating: keep what was read, report the error
        result.findings.extend(out.findings)
        result.validated = True
    return result


def load_source(path, *, previous=None, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Import a workbook or canonical JSON file and validate it.

    ``previous`` is last year's file (path), ImportResult or Submission, for the
    cross-year rules.
    """
    if isinstance(previous, (str, os.PathLike, Path)):
        previous = load_source(previous, limits=limits)
    result = read_json(path, limits=limits) if is_json(path) else read_workbook(path, limits=limits)
    return validate_result(result, previous)
