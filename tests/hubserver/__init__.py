"""A loopback Hugging Face Hub for tests: real git repositories behind the Hub's HTTP routes."""

from .server import LoopbackHub

__all__ = ["LoopbackHub"]
