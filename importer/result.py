"""The result of importing one file: the data (when it could be read) and every finding."""

from __future__ import annotations

from dataclasses import dataclass, field

from importer.findings import Finding
from xlsxgen.data import to_canonical


@dataclass
class ImportResult:
    path: str  # as given (or a name for bytes)
    source: str  # "workbook" | "json"
    spec: object = None  # FormatSpec, when the format is known
    submission: object = None  # xlsxgen.data.Submission (inputs; totals recomputed on output)
    findings: list[Finding] = field(default_factory=list)
    unreadable: Finding | None = None  # set when the file cannot be read at all
    claimed: dict = field(default_factory=dict)  # totals as the file states them {(t, r, c): value}
    previous_values: dict | None = None  # last year's figures carried by the workbook itself
    metadata: dict = field(default_factory=dict)  # the workbook's metadata sheet (key -> text)
    locator: object = None  # importer.validate.Locator for this source
    unreliable: set = field(default_factory=set)  # figure keys whose value could not be read
    recomputed: dict | None = None  # the figures with every total recomputed (set by the workbook importer)
    validated: bool = False  # rules and totals checked (load_source / validate_result)

    # ------------------------------------------------------------------ summary
    @property
    def status(self) -> str:
        if self.unreadable is not None:
            return "unreadable"
        return "invalid" if any(f.is_error for f in self.findings) else "ok"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        """Information notes: nothing to fix (they change neither the status nor the exit code)."""
        return [f for f in self.findings if f.severity == "info"]

    @property
    def blocking(self) -> bool:
        """True when the figures themselves cannot be trusted (see :mod:`importer.findings`)."""
        return self.submission is None or any(f.blocking for f in self.findings)

    @property
    def format_id(self) -> str | None:
        if self.spec is not None:
            return self.spec.id
        return self.metadata.get("format_id")

    @property
    def year(self) -> int | None:
        return self.submission.year if self.submission is not None else None

    @property
    def agency(self) -> dict | None:
        if self.submission is None:
            return None
        return {"name": self.submission.agency_name, "code": self.submission.agency_code}

    @property
    def reason(self) -> str | None:
        return self.unreadable.message if self.unreadable is not None else None

    # ------------------------------------------------------------------ output
    def canonical(self) -> dict:
        """The canonical JSON object; every total is our recomputation."""

        if self.submission is None or self.spec is None:
            raise ValueError("no data to export")
        return to_canonical(self.spec, self.submission)

    def to_dict(self) -> dict:
        from xlsxgen.files import display_path

        return {
            "path": display_path(str(self.path))[0],  # a name that is not UTF-8 (GBK) or holds control characters
            "status": self.status,
            "format": self.format_id,
            "agency": self.agency,
            "year": self.year,
            "findings": [f.to_dict() for f in self.findings],
        }
