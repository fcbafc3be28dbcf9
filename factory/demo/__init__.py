"""The embedded demo: tiny local models trained on bundled openly licensed text."""
