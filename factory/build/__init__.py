"""A build: plan a recipe's stages, run them through datatrove, assemble and publish."""

from factory.build.context import BuildContext
from factory.build.stage import Stage

__all__ = ["BuildContext", "Stage"]
