"""The Jinja environments of the report templates: compiled once per templates folder.

The templates of a format are in ``templates/<format-id>/report/`` (entry
``report.j2``). ``--templates DIR`` puts DIR in front: a file there replaces the
file of the same name, other files still come from the format's folder, so an
office may copy only the one template it rewords. Any template error becomes a
:class:`TemplateError` naming the file and the line.
"""

from __future__ import annotations

import functools
import traceback
from pathlib import Path

import jinja2

from xlsxgen.errors import UsageError, XlsxgenError
from xlsxgen.render.context import TemplateDataError
from xlsxgen.render.filters import FILTERS

FOLDER = "report"
ENTRY = "report.j2"


class TemplateError(XlsxgenError):
    """A report template is broken (syntax, unknown variable, …)."""


def template_dirs(spec, templates_dir=None) -> tuple[str, ...]:
    default = Path(spec.folder) / FOLDER
    if templates_dir is None:
        return (str(default),)
    custom = Path(templates_dir)
    if not custom.is_dir():
        raise UsageError(f"模板文件夹 {custom} 不存在或不是文件夹")
    return (str(custom.resolve()), str(default))


@functools.lru_cache(maxsize=32)
def environment(dirs: tuple[str, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(d, encoding="utf-8") for d in dirs]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # templates write the report markup, writers escape
        auto_reload=True,  # compiled once, recompiled only when the file changes (one stat per template)
    )
    env.filters.update(FILTERS)
    return env


def _location(exc: BaseException, dirs) -> tuple[str, int] | None:
    """The innermost template frame of a rendering error (Jinja rewrites tracebacks)."""
    found = None
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename.endswith(".j2") or any(fs.filename.startswith(d) for d in dirs):
            found = (fs.filename, fs.lineno)
    return found


def render_template(dirs: tuple[str, ...], variables: dict, name: str = ENTRY) -> str:
    env = environment(dirs)
    try:
        return env.get_template(name).render(variables)
    except jinja2.TemplateSyntaxError as e:
        where = e.filename or e.name or name
        raise TemplateError(f"报告模板 {where} 第{e.lineno}行有语法错误：{e.message}") from None
    except jinja2.TemplateNotFound as e:
        raise TemplateError(f"找不到报告模板 {e.name}（模板文件夹：{'；'.join(dirs)}）") from None
    except XlsxgenError:
        raise
    except (
        TemplateDataError,
        jinja2.TemplateError,
        ArithmeticError,
        TypeError,
        ValueError,
        LookupError,
        AttributeError,
    ) as e:
        loc = _location(e, dirs)
        where = f"报告模板 {loc[0]} 第{loc[1]}行" if loc else f"报告模板 {name}"
        raise TemplateError(f"{where}出错：{e}") from None
