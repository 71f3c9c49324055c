"""Statistics of a bump hunt; :mod:`~bumphunt.stats.metrics` holds ROC, AUC and SIC."""
