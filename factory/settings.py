"""Environment switches, read in this one module."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def factory_home() -> Path:
    """Root of the local store, build work dirs and caches (`FACTORY_HOME`)."""
    home = os.environ.get("FACTORY_HOME") or user_cache_dir("latxa-factory")
    return Path(home).expanduser().resolve()


def ensure_writable_home() -> Path:
    """FACTORY_HOME, checked writable before any work (one line when it is not)."""
    import tempfile

    from factory.errors import FactoryError

    home = factory_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-check-"):
            pass
    except OSError as error:
        raise FactoryError(
            f"FACTORY_HOME {home} is not writable ({error.strerror or type(error).__name__}); "
            "set FACTORY_HOME to a folder you can write"
        ) from None
    return home


def debug() -> bool:
    """`FACTORY_DEBUG=1` shows tracebacks for user errors."""
    return _is_true(os.environ.get("FACTORY_DEBUG"))


def hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hf_token() -> str | None:
    return os.environ.get("HF_TOKEN") or None


def hub_configured() -> bool:
    """A Hub is read from only when one is configured (HF_ENDPOINT or HF_TOKEN set)."""
    return bool(os.environ.get("HF_ENDPOINT") or hf_token())


def progress_enabled() -> bool:
    return not _is_true(os.environ.get("FACTORY_NO_PROGRESS"))


def demo_model_cache() -> Path | None:
    """`FACTORY_DEMO_MODEL_CACHE`: where the demo model is built (default: FACTORY_HOME/models)."""
    value = os.environ.get("FACTORY_DEMO_MODEL_CACHE")
    return Path(value).expanduser().resolve() if value else None


def demo_train_steps() -> int | None:
    """`FACTORY_DEMO_TRAIN_STEPS`: override the demo model's training steps (tests)."""
    value = os.environ.get("FACTORY_DEMO_TRAIN_STEPS")
    return int(value) if value else None


def demo_mt_train_steps() -> int | None:
    """`FACTORY_DEMO_MT_TRAIN_STEPS`: override the demo translation model's training steps (tests)."""
    value = os.environ.get("FACTORY_DEMO_MT_TRAIN_STEPS")
    return int(value) if value else None


# what a task on another node needs from the driver's environment (Ray `runtime_env`, Slurm
# `--export`); the secrets travel by name or in memory only, never in a script, a file or a
# runtime_env (Ray's runtime-env agent logs that whole)
FORWARDED_ENV = (
    "FACTORY_DEBUG",
    "FACTORY_NO_PROGRESS",
    "FACTORY_DEMO_MODEL_CACHE",
    "FACTORY_DEMO_TRAIN_STEPS",
    "FACTORY_DEMO_MT_TRAIN_STEPS",
    "HF_HOME",
    "HF_ENDPOINT",
    "PYTHONPATH",
)
SECRET_ENV = ("HF_TOKEN", "FACTORY_ANNOTATOR_SALT")


def task_environment() -> dict[str, str]:
    """The variables a remote task must see: FACTORY_HOME resolved here, plus the forwarded ones."""
    env = {"FACTORY_HOME": str(factory_home())}
    env.update({name: os.environ[name] for name in FORWARDED_ENV if os.environ.get(name)})
    return env


def secret_environment() -> dict[str, str]:
    """The secrets set here (HF_TOKEN, the annotator salt), for a task that cannot get them by name."""
    return {name: os.environ[name] for name in SECRET_ENV if os.environ.get(name)}
