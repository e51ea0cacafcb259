"""The workbook: where every label and figure sits (layout), every cell's role and formula (plan),
the xlsxwriter writer and the fast per-agency personalisation."""
