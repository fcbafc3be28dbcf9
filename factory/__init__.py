"""latxa-factory: build, publish and consume the data behind instruction-tuned LLMs."""

__version__ = "0.1.0"
