"""Agreement and evaluation figures (docs/agreement.md; the definitions are those of metrics.md).

``workbench.metrics.agreement`` is the one implementation of span, relation
and attribution matching, pairwise F1, token labels per kind, Cohen's kappa,
Krippendorff's alpha, Gwet's AC1, the bootstrap and the evaluation of an
extractor against gold.  It needs no database and no Flask; numpy is imported
inside the functions that need it, so importing this package costs nothing.
"""
