"""A build: plan a recipe's stages, run them through datatrove, assemble and publish."""

from factory.builds.context import BuildContext
from factory.builds.stage import Stage

__all__ = ["BuildContext", "Stage"]
