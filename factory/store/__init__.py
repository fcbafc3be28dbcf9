"""Dataset stores: one interface, two backends (local git store, Hugging Face Hub)."""

from factory.store.base import RefInfo, Revision, Store

__all__ = ["RefInfo", "Revision", "Store"]
