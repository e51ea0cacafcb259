"""The office's own report: the sums with the agencies' words, and every agency's draft at once.

* :class:`Compilation` holds the agencies' narrative texts (文字材料), in roster
  order. The report templates see it as ``compilation``: for each narrative item
  they write the generated summary of the sums, then each agency's text under its
  name (``m.compiled(key)``), an editable compilation for the office to condense.
* :func:`render_consolidated` renders the consolidated draft of the summed
  submission with the compilation.
* :func:`add_texts_sheet` adds the agencies' narrative items side by side to a
  workbook (the consolidated workbook's sheet named like the format's 文字材料 sheet).
* :func:`render_every_agency` renders every agency's draft into a folder, with an
  index page.

Nothing here knows a field of a particular format: the text fields are the
format's ``narrative.fields`` of kind ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from xlsxgen import __version__
from xlsxgen.errors import XlsxgenError
from xlsxgen.files import safe_file_part, write_atomic
from xlsxgen.render import markup
from xlsxgen.render.filters import unnumbered


@dataclass(frozen=True)
class AgencyText:
    """One agency's text of one narrative item, cleaned for the report markup."""

    agency: str
    first: str  # the first paragraph (printed after the agency's name on the same line)
    rest: tuple[str, ...]  # the following paragraphs, one per line


def _narrative_of(item) -> dict:
    """The narrative dict of a Submission, a canonical JSON object, or a plain dict of texts."""
    nar = getattr(item, "narrative", None)
    if nar is None and isinstance(item, dict):
        nar = item.get("narrative", item) if "narrative" in item else item
    return nar if isinstance(nar, dict) else {}


class Compilation:
    """The agencies' narrative texts, per text field, in the order given (the roster's).

    ``agencies`` is a list (or an iterable) of ``(agency name, Submission)`` (or canonical JSON /
    a narrative dict instead of the Submission).

    ``limit``: keep the texts of the first ``limit`` agencies only (a draft of thousands of agencies'
    texts is thousands of pages, and is built in memory); :attr:`omitted` says how many agencies'
    texts were left out — the templates say so where the texts are — while :attr:`count` and
    :meth:`without` still count every agency.
    """

    def __init__(self, spec, agencies, limit: int | None = None):
        self.spec = spec
        self.fields = [f for f in spec.narrative_fields if f.kind == "text"]
        self.agencies: list[str] = []
        self.limit = limit
        self._raw: dict[str, list[tuple[str, str]]] = {f.key: [] for f in self.fields}
        self._has: dict[str, set[str]] = {f.key: set() for f in self.fields}
        for name, item in agencies:
            self.agencies.append(name)
            keep = limit is None or len(self.agencies) <= limit
            nar = _narrative_of(item)
            for f in self.fields:
                v = nar.get(f.key)
                if isinstance(v, str) and v.strip():
                    self._has[f.key].add(name)
                    if keep:
                        self._raw[f.key].append((name, v))

    def __bool__(self) -> bool:
        return True  # a compilation of no agencies is still the office's report

    @property
    def count(self) -> int:
        return len(self.agencies)

    @property
    def omitted(self) -> int:
        """How many agencies (the last ones in roster order) are beyond ``limit``: their texts are not kept."""
        return 0 if self.limit is None else max(0, self.count - self.limit)

    def texts(self, key: str) -> list[AgencyText]:
        """Each agency's text of field ``key`` (agencies without one are left out)."""
        if key not in self._raw:
            known = "、".join(self._raw)
            raise KeyError(f"文字材料中没有文字字段 {key!r}（可用：{known}）")
        label = next(f.label for f in self.fields if f.key == key)
        out = []
        for name, raw in self._raw[key]:
            text = unnumbered(markup.clean(raw), label)
            paras = [p for p in str(text).split("\n\n") if p.strip()]
            if not paras:
                continue
            first = paras[0][1:] if paras[0].startswith("\\") else paras[0]  # not at a line start: no escape
            out.append(AgencyText(markup.clean(name).lstrip("\\"), first, tuple(paras[1:])))
        return out

    def without(self, key: str) -> list[str]:
        """The agencies that gave no text for field ``key``."""
        have = self._has.get(key, set())
        return [a for a in self.agencies if a not in have]


def render_consolidated(spec, total, agencies, fmt, previous=None, templates_dir=None, *,
                        final: bool = False, options=None):
    """The consolidated draft: the figures of ``total`` (the sum), the agencies' words of ``agencies``
    (``[(name, Submission)]`` in roster order) under each narrative item. Returns (output, warnings).

    ``fmt``: one format, or a tuple of formats — then the output is ``{fmt: output}``, the templates
    rendered once for all of them."""
    from xlsxgen.render import render_reports

    comp = agencies if isinstance(agencies, Compilation) else Compilation(spec, agencies)
    fmts = (fmt,) if isinstance(fmt, str) else tuple(fmt)
    outputs, warnings = render_reports(spec, total, fmts, previous, templates_dir, final=final, options=options,
                                       compilation=comp)
    out = outputs[fmt] if isinstance(fmt, str) else outputs
    for f in comp.fields:
        lacking = comp.without(f.key)
        if lacking and comp.count:
            shown = "、".join(lacking[:5]) + ("等" if len(lacking) > 5 else "")
            warnings.append(f"{len(lacking)}个单位没有「{f.label}」的文字材料（{shown}）")
    return out, warnings


# ---------------------------------------------------------------------------- the 文字材料 sheet


def add_texts_sheet(wb, spec, rows, *, font: str = "宋体") -> int:
    """Add a sheet (named as the format's narrative sheet) with every agency's narrative items side by side.

    ``wb`` is an xlsxwriter Workbook; ``rows`` yields ``(code, name, narrative dict)``
    in roster order. Returns the number of agencies written.
    """
    fields = [f for f in spec.narrative_fields if f.kind == "text"]
    ws = wb.add_worksheet(spec.sheets.get("narrative") or "texts")
    base = {"font_name": font, "font_size": 10, "valign": "top", "border": 1, "text_wrap": True}
    f_head = wb.add_format(dict(base, bold=True, bg_color="#D9E1F2", align="center", valign="vcenter"))
    f_text = wb.add_format(dict(base, align="left"))
    f_center = wb.add_format(dict(base, align="center"))
    f_note = wb.add_format({"font_name": font, "font_size": 10, "font_color": "#404040"})
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 13)
    ws.set_column(2, 2, 24)
    ws.set_column(3, 2 + len(fields), 48)
    ws.write_string(0, 0, "各单位报送的文字材料（每行一个单位，按名单顺序；只列入通过校验或仅有警告的报送）", f_note)
    heads = ["序号", "单位代码", "单位名称"] + [f.label for f in fields]
    for c, h in enumerate(heads):
        ws.write_string(1, c, h, f_head)
    ws.set_row(1, 30)
    n = 0
    for code, name, narrative in rows:
        n += 1
        r = 1 + n
        ws.write_number(r, 0, n, f_center)
        ws.write_string(r, 1, code or "", f_text)
        ws.write_string(r, 2, name or "", f_text)
        longest = 0
        for c, f in enumerate(fields, 3):
            v = (narrative or {}).get(f.key)
            text = v.strip() if isinstance(v, str) else ""
            ws.write_string(r, c, text, f_text)
            longest = max(longest, len(text) + 40 * text.count("\n"))
        ws.set_row(r, min(409, max(15, 14 * (longest // 24 + 1))))  # ~24 CJK characters a line at width 48
    ws.freeze_panes(2, 3)
    ws.set_landscape()
    ws.set_paper(9)
    ws.repeat_rows(1, 1)
    ws.repeat_columns(0, 2)
    return n


# ---------------------------------------------------------------------------- every agency's draft


@dataclass
class AgencyDraft:
    """One agency to render (``submission`` None: nothing usable to render)."""

    code: str
    name: str
    status: str  # a Chinese status label (已提交且通过, 仅有警告, 未报送, …)
    submission: object = None
    spec: object = None
    previous: object = None  # last year's Submission, when known
    file: Path | None = None
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def render_every_agency(items, fmt: str, out_dir, *, year: int, title: str, templates_dir=None,
                        final: bool = False, options=None) -> Path:
    """Render each :class:`AgencyDraft` with a submission into ``out_dir`` and write an index page.

    One failing agency never stops the batch: its error is listed in the index.
    Returns the index path.
    """
    from xlsxgen.render import SUFFIXES, render_report

    out = Path(out_dir)
    for it in items:
        if it.submission is None:
            continue
        name = f"{year}-{safe_file_part(it.code or '', 30)}-{safe_file_part(it.name or '')}{SUFFIXES[fmt]}"
        try:
            body, it.warnings = render_report(it.spec, it.submission, fmt, it.previous, templates_dir,
                                              final=final, options=options)
        except XlsxgenError as e:
            it.error = str(e)
            continue
        it.file = write_atomic(out / name, body)
    index = out / f"报告草稿目录-{year}.html"
    write_atomic(index, index_html(items, title=title))
    return index


def index_html(items, *, title: str) -> str:
    """The index of a batch of drafts: a valid, standalone HTML5 page (no script)."""
    rows = []
    for i, it in enumerate(items, 1):
        if it.file is not None:
            link = f'<a href="{escape(it.file.name)}">{escape(it.file.name)}</a>'
        elif it.error:
            link = "未生成：" + escape(it.error.splitlines()[0])
        else:
            link = "没有可用的报送，未生成"
        todo = sum(1 for w in it.warnings if "待补充" in w)
        rows.append(
            f"<tr><td>{i}</td><td>{escape(it.code or '')}</td><th scope=\"row\">{escape(it.name or '')}</th>"
            f"<td>{escape(it.status)}</td><td>{link}</td><td>{len(it.warnings)}</td><td>{todo}</td></tr>"
        )
    done = sum(1 for it in items if it.file is not None)
    style = (
        "body{font-family:\"仿宋_GB2312\",\"仿宋\",FangSong,serif;margin:2em;}"
        "table{border-collapse:collapse;}th,td{border:1px solid #000;padding:.3em .5em;text-align:left;}"
        "thead th{background:#eee;}@media print{a{color:#000;text-decoration:none;}}"
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"generator\" content=\"xlsxgen {__version__}\">\n<title>{escape(title)}</title>\n"
        f"<style>{style}</style>\n</head>\n<body>\n<main>\n<h1>{escape(title)}</h1>\n"
        f"<p>共{len(items)}个单位，已生成{done}份草稿。提示数为生成时的提示条数，【待补充】为其中需要补充的内容。</p>\n"
        "<table>\n<thead><tr><th scope=\"col\">序号</th><th scope=\"col\">单位代码</th><th scope=\"col\">单位名称</th>"
        "<th scope=\"col\">报送状态</th><th scope=\"col\">草稿</th><th scope=\"col\">提示数</th>"
        "<th scope=\"col\">待补充</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
        "</main>\n</body>\n</html>\n"
    )
