"""Thin train wrapper: a train spec -> an axolotl config whose datasets are pinned to commit shas."""
