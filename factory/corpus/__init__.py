"""Corpus kind: a Latxa-style Basque pretraining corpus (sources by priority, dedup, filters, splits)."""
