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

from xlsxgen.errors import UsageError
from xlsxgen.render import markup
from xlsxgen.render.context import RenderContext
from xlsxgen.render.source import LoadedSource, load_source
from xlsxgen.render.templating import TemplateError, template_dirs

FORMATS = ("md", "html", "docx", "txt")
SUFFIXES = {"md": ".md", "html": ".html", "docx": ".docx", "txt": ".txt"}

__all__ = ["FORMATS", "SUFFIXES", "LoadedSource", "TemplateError", "load_source", "render_markup", "render_report"]


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


def render_markup(spec, submission, previous=None, templates_dir=None) -> tuple[list, RenderContext]:
    """Render the templates to report blocks; returns (blocks, context)."""
    from xlsxgen.render.templating import render_template

    ctx = RenderContext(spec, submission, previous)
    text = render_template(template_dirs(spec, templates_dir), ctx.variables())
    blocks = markup.parse(text)
    known = {t.key for t in spec.tables}
    for b in blocks:
        if b.kind == "table" and b.table not in known:
            raise TemplateError(f"报告模板引用了未知的表 {b.table!r}（可用：{'、'.join(sorted(known))}）")
    return blocks, ctx


def render_report(spec, submission, fmt: str, previous=None, templates_dir=None) -> tuple[bytes | str, list[str]]:
    """The report draft of ``submission`` as ``fmt`` (md, html, docx, txt) and the warnings.

    ``previous`` is last year's Submission (for 同比 sentences and cross-year checks);
    ``templates_dir`` a folder of templates that replace the format's own, file by file.
    Returns ``str`` for text formats, ``bytes`` for docx.
    """
    if fmt not in FORMATS:
        raise UsageError(f"未知的输出格式 {fmt!r}，可用：{'、'.join(FORMATS)}")
    submission = _printable(submission)
    blocks, ctx = render_markup(spec, submission, previous, templates_dir)
    if fmt == "html":
        from xlsxgen.render import html

        out = html.write(blocks, ctx)
    elif fmt == "docx":
        from xlsxgen.render import docx

        out = docx.write(blocks, ctx)
    elif fmt == "md":
        from xlsxgen.render import text

        out = text.write_md(blocks, ctx)
    else:
        from xlsxgen.render import text

        out = text.write_txt(blocks, ctx)
    return out, list(ctx.warnings)
