"""The web portal (``xlsxgen serve``): agencies upload through personal links, the office reviews.

A top layer: it uses collection, render and importer; nothing but the commands imports it.
"""
