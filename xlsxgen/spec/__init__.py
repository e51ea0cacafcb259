"""The format model: a report format as data (``templates/<id>/format.yaml``).

- :mod:`xlsxgen.spec.model` — loading and validating a format definition;
- :mod:`xlsxgen.spec.expr` — the expression language of totals and rules (to Excel and to Python);
- :mod:`xlsxgen.spec.rules` — totals and rules expanded into instances;
- :mod:`xlsxgen.spec.runner` — the one rule runner (which rules run, on what, and their results);
- :mod:`xlsxgen.spec.versions` — choosing a format version, including last year's.
"""

from xlsxgen.spec.model import FormatSpec, available_formats, load_format, load_spec_file

__all__ = ["FormatSpec", "available_formats", "load_format", "load_spec_file"]
