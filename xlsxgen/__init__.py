"""xlsxgen: the annual report on open government information, from template to draft.

Formats are data (``templates/<format-id>/format.yaml``); see :mod:`xlsxgen.spec`.
"""

__version__ = "0.1.0"
