"""The draft annual report: ``render_report(spec, submission, fmt)`` → text or DOCX bytes.

Pipeline: :class:`~xlsxgen.render.context.RenderContext` (figures, checks,
sources) → the format's Jinja templates (``templates/<format>/report/*.j2``,
wording) → the report markup (:mod:`xlsxgen.render.markup`) → one writer per
output format (:mod:`.html`, :mod:`.docx`, :mod:`.text`). The statutory tables
are drawn from :func:`xlsxgen.workbook.layout.build_layout`; nothing here knows a label,
a table or a row of a particular format. See docs/render.md.
"""

from __future__ import annotations

import dataclasses
import re

from xlsxgen.errors import UsageError, XlsxgenError
from xlsxgen.render import markup
from xlsxgen.render.context import RenderContext
from xlsxgen.render.source import LoadedSource, load_source
from xlsxgen.render.templating import TemplateError, render_template, template_dirs

FORMATS = ("md", "html", "docx", "txt", "pdf")
SUFFIXES = {"md": ".md", "html": ".html", "docx": ".docx", "txt": ".txt", "pdf": ".pdf"}
BINARY = ("docx", "pdf")

__all__ = [
    "BINARY", "FORMATS", "SUFFIXES", "FinalError", "LoadedSource", "TemplateError", "load_source", "missing_parts",
    "render_markup", "render_report", "render_reports",
]


class FinalError(XlsxgenError):
    """``--final`` while the draft still has 【待补充】 placeholders (exit 1, each missing part listed)."""

    exit_code = 1

    def __init__(self, parts: list[str]):
        self.parts = parts
        lines = "\n".join(f"  {i}. {p}" for i, p in enumerate(parts, 1))
        super().__init__(f"报告还有{len(parts)}处【待补充】，不能生成定稿（--final）。请补充以下内容后重新生成：\n{lines}")


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _printable(sub):
    """``sub`` with the characters no document may hold (control characters, which a name or text can carry
    through _xHHHH_ escapes; they made python-docx raise) removed from its texts."""
    def clean(v):
        return _NOT_IN_XML.sub("", v) if isinstance(v, str) else v

    texts = [sub.agency_name, sub.agency_code, *sub.narrative.values(), *sub.contact.values()]
    if not any(isinstance(t, str) and _NOT_IN_XML.search(t) for t in texts):
        return sub
    return dataclasses.replace(sub, agency_name=clean(sub.agency_name), agency_code=clean(sub.agency_code),
                               narrative={k: clean(v) for k, v in sub.narrative.items()},
                               contact={k: clean(v) for k, v in sub.contact.items()})


def missing_parts(blocks, ctx) -> list[str]:
    """Every 【待补充】 of a rendering, as a person would look for it: section, then what is missing."""
    from xlsxgen.render.context import PLACEHOLDER, TABLE_PLACEHOLDER

    out: list[str] = []
    section = ""
    prefix = PLACEHOLDER.split("{", 1)[0]
    for b in blocks:
        if b.kind == "heading" and b.level == 1:
            section = b.text
        if b.kind == "table":
            t = ctx.spec.table(b.table)
            gaps = [t.cell_label(r, c) for (r, c) in t.cells if (t.key, r, c) in ctx.missing]
            if gaps:
                shown = "、".join(gaps[:5]) + ("等" if len(gaps) > 5 else "")
                out.append(f"{section or t.heading}：表中{len(gaps)}个单元格没有数据（{shown}）")
            continue
        for r in b.runs:
            if r.todo:
                what = r.text.strip()
                if what.startswith(prefix) and what.endswith("】"):
                    what = what[len(prefix):-1]
                elif what == TABLE_PLACEHOLDER:
                    what = "数据"
                where = section or ("标题" if b.kind == "title" else "开头段")
                out.append(f"{where}：{what}")
    return list(dict.fromkeys(out))


def render_markup(spec, submission, previous=None, templates_dir=None, options=None,
                  compilation=None) -> tuple[list, RenderContext]:
    """Render the templates to report blocks; returns (blocks, context).

    ``options``: template switches, e.g. ``{"extra_figures": True}`` (derived figures the
    national format does not ask for, such as 纠错率; off by default). ``compilation``: the agencies'
    texts for the office's consolidated report (:class:`xlsxgen.render.compilation.Compilation`).
    """

    ctx = RenderContext(spec, submission, previous, options, compilation)
    text = render_template(template_dirs(spec, templates_dir), ctx.variables())
    blocks = markup.parse(text)
    known = {t.key for t in spec.tables}
    for b in blocks:
        if b.kind == "table" and b.table not in known:
            raise TemplateError(f"报告模板引用了未知的表 {b.table!r}（可用：{'、'.join(sorted(known))}）")
    return blocks, ctx


def render_report(spec, submission, fmt: str, previous=None, templates_dir=None, *, final: bool = False,
                  options=None, compilation=None) -> tuple[bytes | str, list[str]]:
    """The report draft of ``submission`` as ``fmt`` (md, html, docx, txt, pdf) and the warnings.

    ``previous`` is last year's Submission (for 同比 sentences and cross-year checks);
    ``templates_dir`` a folder of templates that replace the format's own, file by file.
    ``final``: a publishable document — no data sources, no highlights — and
    :class:`FinalError` while any 【待补充】 remains. ``pdf`` is the final DOCX converted
    by LibreOffice (:mod:`xlsxgen.render.pdf`), so it implies ``final``.
    Returns ``str`` for text formats, ``bytes`` for docx and pdf.
    """
    outputs, warnings = render_reports(spec, submission, (fmt,), previous, templates_dir, final=final,
                                       options=options, compilation=compilation)
    return outputs[fmt], warnings


def render_reports(spec, submission, fmts, previous=None, templates_dir=None, *, final: bool = False,
                   options=None, compilation=None) -> tuple[dict, list[str]]:
    """The draft in several formats from one rendering of the templates: ({fmt: output}, warnings).

    The same as :func:`render_report` once per format (a consolidated draft of 1,000 agencies: the
    templates are rendered once, not once per format). ``pdf`` among ``fmts`` implies ``final``.
    """
    for fmt in fmts:
        if fmt not in FORMATS:
            raise UsageError(f"未知的输出格式 {fmt!r}，可用：{'、'.join(FORMATS)}")
    if "pdf" in fmts:
        from xlsxgen.render import pdf

        pdf.find_soffice()  # before any work: say how to install LibreOffice
        final = True
    submission = _printable(submission)
    blocks, ctx = render_markup(spec, submission, previous, templates_dir, options, compilation)
    if final:
        parts = missing_parts(blocks, ctx)
        if parts:
            raise FinalError(parts)
    return {fmt: write_blocks(blocks, ctx, fmt, final) for fmt in fmts}, list(ctx.warnings)


def write_blocks(blocks, ctx, fmt: str, final: bool = False) -> bytes | str:
    """Draw rendered blocks with the writer of ``fmt``."""
    if fmt == "html":
        from xlsxgen.render import html

        return html.write(blocks, ctx, final)
    if fmt in ("docx", "pdf"):
        from xlsxgen.render import docx

        out = docx.write(blocks, ctx, final)
        if fmt == "pdf":
            from xlsxgen.render import pdf

            out = pdf.docx_to_pdf(out)
        return out
    from xlsxgen.render import text

    if fmt == "md":
        return text.write_md(blocks, ctx, final)
    return text.write_txt(blocks, ctx, final)
