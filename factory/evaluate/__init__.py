"""Thin eval wrapper: an eval suite spec -> lm-evaluation-harness task YAMLs pinned to dataset shas."""
