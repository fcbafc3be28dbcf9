"""The tokenizer behind Table 2's token column: a local file or folder, or the demo model's. Never downloaded.

`stats.tokenizer` names one of:

* a `tokenizer.json` file (the `tokenizers` format every fast Hugging Face tokenizer saves);
* a local Hugging Face tokenizer folder: its `tokenizer.json`, else whatever
  `AutoTokenizer.from_pretrained(folder, local_files_only=True)` can load (e.g. a SentencePiece
  `tokenizer.model`);
* `demo`: the byte-level BPE tokenizer of the Magpie demo model, trained locally
  (`factory.demo.model.ensure_demo_model()`, about a minute the first time, then cached).

The token count stage is named after a fingerprint of the tokenizer, so a rebuild with another
tokenizer counts again while every other stage of the build is reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from factory.errors import RecipeError

DEMO = "demo"
_FIELD = "stats.tokenizer"
_ALLOWED = (
    "a tokenizer.json file, a local tokenizer folder, or `demo` (the Magpie demo model's tokenizer)"
)


@dataclass(frozen=True)
class TokenizerRef:
    """A resolved tokenizer: where it is, how to name it in the card, and its content fingerprint."""

    path: str  # a tokenizer.json file or a tokenizer folder
    label: str  # what the card says: the demo model's id and revision, or the folder's name and fingerprint
    fingerprint: str  # sha256 of the tokenizer files, 12 hex digits


def _fingerprint(path: Path) -> str:
    files = (
        [path]
        if path.is_file()
        else sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.name.startswith(("tokenizer", "special_tokens"))
        )
    )
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


def resolve_tokenizer(spec: str | None, base_dir: Path) -> TokenizerRef | None:
    """The tokenizer a recipe asks for, or None; a one-line `RecipeError` when it is not there."""
    if not spec:
        return None
    if spec == DEMO:
        from factory.demo.model import ensure_demo_model

        path = ensure_demo_model()
    else:
        path = Path(spec).expanduser()
        path = path if path.is_absolute() else base_dir / path
    if not path.exists():
        raise RecipeError(f"{_FIELD}: {spec!r} does not exist (looked for {path}); give {_ALLOWED}")
    if path.is_dir() and (path / "tokenizer.json").is_file():
        path = path / "tokenizer.json"
    elif path.is_dir() and not any(path.glob("tokenizer*")):
        raise RecipeError(f"{_FIELD}: the folder {path} holds no tokenizer files; give {_ALLOWED}")
    fingerprint = _fingerprint(path)
    if spec == DEMO:
        from factory.demo.model import DEMO_MODEL_ID, demo_revision

        label = f"{DEMO_MODEL_ID}@{demo_revision()}"
    else:
        # the folder's name, not the whole local path (which may name the user)
        label = f"{(path.parent if path.name == 'tokenizer.json' else path).name} (sha256 {fingerprint})"
    return TokenizerRef(path=str(path), label=label, fingerprint=fingerprint)


def load_counter(path: str) -> Callable[[str], int]:
    """A function giving the number of tokens of a text (no special tokens added)."""
    if path.endswith(".json"):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(path)
        return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return lambda text: len(auto(text, add_special_tokens=False)["input_ids"])
