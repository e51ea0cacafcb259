"""Collection: roster, distribution, intake of returned workbooks, the store (all SQL), statuses,
overview, consolidation, feedback files and the other outputs of a collection run."""
