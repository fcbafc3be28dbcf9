"""Reward-model scores of (instruction, response) pairs: transformers sequence classification.

Magpie's `unitag.py --tag_mission reward` runs `sfairXC/FsfairX-LLaMA3-RM-v0.1` through a
text-classification pipeline with `function_to_apply="none"`: the score is the raw logit of the
single label, on the RM's chat template of [user, assistant] with the BOS text removed (the
tokenizer adds it back). Any `AutoModelForSequenceClassification` checkpoint with one label works.

`demo:tiny-rm` is a 2-layer Llama sequence classifier with seeded random weights on the demo
model's tokenizer, built locally (no download): its scores are reproducible noise, for plumbing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from factory.errors import EngineError, MissingDependency

DEMO_RM = "demo:tiny-rm"
DEMO_RM_ID = "latxa-factory/demo-tiny-rm"
_DEMO_RM_SEED = 13


def demo_rm_revision() -> str:
    """Content hash of the demo reward model: its seed and the demo tokenizer's model revision."""
    from factory.demo.model import demo_revision

    return hashlib.sha256(f"rm-v1:{_DEMO_RM_SEED}:{demo_revision()}".encode()).hexdigest()[:16]


def demo_rm_dir() -> Path:
    """The demo reward model's folder (built on first use next to the demo chat model)."""
    from filelock import FileLock

    from factory.demo.model import ensure_demo_model

    chat = ensure_demo_model()
    revision = demo_rm_revision()
    target = chat.parent / f"demo-tiny-rm-{revision}"
    if (target / "config.json").exists():
        return target
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".building-") as tmp:
                build_tiny_reward_model(chat, Path(tmp) / "rm", seed=_DEMO_RM_SEED)
                (Path(tmp) / "rm" / "demo_model.json").write_text(
                    json.dumps({"model_id": DEMO_RM_ID, "revision": revision})
                )
                os.replace(Path(tmp) / "rm", target)
    return target


def build_tiny_reward_model(tokenizer_dir: Path, out: Path, *, seed: int = 0) -> None:
    """A randomly initialised 2-layer Llama sequence classifier (1 label) on `tokenizer_dir`'s tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=1024,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    model = LlamaForSequenceClassification(config).eval()
    out.mkdir(parents=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


class RewardScorer:
    """Loads one reward model and scores conversations in fixed batches (same input -> same scores)."""

    def __init__(
        self, model: str, revision: str | None = None, batch_size: int = 8, max_length: int = 4096
    ):
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError:
            raise MissingDependency("transformers", "'latxa-factory'", "reward tagging") from None
        self._torch = torch
        self.batch_size = batch_size
        self.max_length = max_length
        if model == DEMO_RM:
            path = demo_rm_dir()
            self.model_id = DEMO_RM_ID
            self.model_revision = json.loads((path / "demo_model.json").read_text())["revision"]
            path, revision = str(path), None
        else:
            path, self.model_id, self.model_revision = model, model, revision
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                path, revision=revision
            ).eval()
        except OSError as error:
            raise EngineError(f"tags.reward.model {model!r}: cannot load it ({error})") from None
        commit = getattr(self.model.config, "_commit_hash", None)
        if commit and model != DEMO_RM:
            self.model_revision = commit
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.config.pad_token_id = self.tokenizer.pad_token_id

    def text(self, instruction: str, response: str) -> str:
        chat = [
            {"role": "user", "content": instruction},
            {"role": "assistant", "content": response},
        ]
        text = self.tokenizer.apply_chat_template(chat, tokenize=False)
        bos = self.tokenizer.bos_token
        return text.replace(bos, "") if bos else text

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        torch = self._torch
        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            texts = [self.text(i, r) for i, r in pairs[start : start + self.batch_size]]
            batch = self.tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                logits = self.model(**batch).logits
            scores.extend(round(float(v), 4) for v in logits[:, 0])
        return scores
