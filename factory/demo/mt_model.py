"""The tiny English->Basque demo translation model: a Marian-style seq2seq, built locally.

`demo:tiny-mt-en-eu` names it in a recipe's `translate.seq2seq.model`. It is trained from scratch
on the bundled English-Basque sentence pairs (`data/mt_en_eu.jsonl`, FLORES-200 and NTREX-128,
CC BY-SA 4.0, see `data/MT_ATTRIBUTION.md`) for about a minute on one CPU thread, then cached
by content hash (builder version, config, data) like the demo chat model. It writes
Basque-looking text, not translations: it exists so that the translation kind runs end to end
offline. Part of its training copies sentinels (`⟦0⟧`) from source to target, as the structure
protection masks inline spans with them; it often fails, which exercises the repair path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import tempfile
import time
from pathlib import Path

from pydantic import Field

from factory import settings
from factory.demo import training
from factory.recipe_base import StrictModel
from factory.settings import factory_home

logger = logging.getLogger(__name__)

DEMO_MT_MODEL = "demo:tiny-mt-en-eu"
DEMO_MT_MODEL_ID = "latxa-factory/demo-tiny-mt-en-eu"
DATA_FILE = Path(__file__).with_name("data") / "mt_en_eu.jsonl"
BUILDER_VERSION = 1
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
N_SENTINELS = 8
SENTINELS = [f"⟦{i}⟧" for i in range(N_SENTINELS)]
# words shared verbatim by both sides (numbers, names) become sentinels in augmented copies
_SHARED = re.compile(r"\b(?:\d[\d.,:]*|[A-Z][a-zA-Z]{2,})\b")


class DemoMTConfig(StrictModel):
    """Everything that decides the demo MT model's weights (hashed into its revision)."""

    seed: int = Field(0, description="Seed of initialisation and data order.")
    vocab_size: int = Field(1200, description="Shared BPE vocabulary, special tokens included.")
    d_model: int = Field(64, description="Model width.")
    ffn_dim: int = Field(128, description="Feed-forward width.")
    layers: int = Field(1, description="Encoder layers and decoder layers (each).")
    heads: int = Field(4, description="Attention heads.")
    max_len: int = Field(128, description="Longest sequence (tokens) in training and inference.")
    train_steps: int = Field(600, description="Optimizer steps.")
    batch_size: int = Field(16, description="Pairs per step.")
    learning_rate: float = Field(4e-3, description="Peak AdamW learning rate.")
    threads: int = Field(1, description="CPU threads for training (fixed: same weights anywhere).")


def default_config() -> DemoMTConfig:
    steps = settings.demo_mt_train_steps()
    return DemoMTConfig(train_steps=steps) if steps else DemoMTConfig()


def demo_mt_revision(config: DemoMTConfig | None = None) -> str:
    config = config or default_config()
    digest = hashlib.sha256()
    digest.update(f"mt-builder-v{BUILDER_VERSION}\n".encode())
    digest.update(config.model_dump_json().encode())
    digest.update(DATA_FILE.read_bytes())
    return digest.hexdigest()[:16]


def ensure_demo_mt_model(config: DemoMTConfig | None = None) -> Path:
    """The model's folder, trained first when not cached (one process trains, others wait)."""
    from filelock import FileLock

    config = config or default_config()
    root = settings.demo_model_cache() or factory_home() / "models"
    target = root / f"demo-tiny-mt-en-eu-{demo_mt_revision(config)}"
    if (target / "config.json").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").exists():
            return target
        from datatrove.utils.logging import logger as console

        from factory.builds.progress import MARKER

        console.info(
            f"{MARKER} training the tiny demo translation model once ({config.train_steps} steps)"
        )
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=root, prefix=".building-mt-") as tmp:
            build_demo_mt_model(config, Path(tmp) / "model")
            os.replace(Path(tmp) / "model", target)
        logger.info("built demo MT model %s in %.0f s", target, time.perf_counter() - started)
    return target


def load_pairs(config: DemoMTConfig) -> list[tuple[str, str]]:
    """The bundled pairs, plus copies with shared words replaced by sentinels on both sides."""
    rng = random.Random(config.seed)
    pairs = []
    for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pairs.append((row["en"], row["eu"]))
    augmented = []
    for en, eu in pairs:
        shared = [
            w for w in dict.fromkeys(_SHARED.findall(en)) if re.search(rf"\b{re.escape(w)}\b", eu)
        ]
        if not shared:
            continue
        picked = rng.sample(shared, min(len(shared), 2))
        for i, word in enumerate(picked):
            pattern = re.compile(rf"\b{re.escape(word)}\b")
            en, eu = pattern.sub(SENTINELS[i], en, 1), pattern.sub(SENTINELS[i], eu, 1)
        augmented.append((en, eu))
    return pairs + augmented


def train_tokenizer(config: DemoMTConfig, texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size, special_tokens=[PAD, EOS, UNK], show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens(SENTINELS)  # whole tokens, not special: decoding keeps them
    eos_id = tok.token_to_id(EOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {EOS}", special_tokens=[(EOS, eos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=config.max_len,
    )


def build_demo_mt_model(config: DemoMTConfig, out: Path) -> None:
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel

    pairs = load_pairs(config)
    tokenizer = train_tokenizer(config, [t for pair in pairs for t in pair])
    data = [
        (
            tokenizer(en, truncation=True, max_length=config.max_len)["input_ids"],
            tokenizer(eu, truncation=True, max_length=config.max_len)["input_ids"],
        )
        for en, eu in pairs
    ]
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    previous = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        model_config = MarianConfig(
            vocab_size=len(tokenizer),
            decoder_vocab_size=len(tokenizer),
            d_model=config.d_model,
            encoder_layers=config.layers,
            decoder_layers=config.layers,
            encoder_attention_heads=config.heads,
            decoder_attention_heads=config.heads,
            encoder_ffn_dim=config.ffn_dim,
            decoder_ffn_dim=config.ffn_dim,
            max_position_embeddings=config.max_len,
            pad_token_id=pad,
            eos_token_id=eos,
            decoder_start_token_id=pad,
            forced_eos_token_id=eos,
            share_encoder_decoder_embeddings=True,
            scale_embedding=True,
            dropout=0.0,
        )
        model = MarianMTModel(model_config)
        _train(model, data, pad, config)
    finally:
        torch.set_num_threads(previous)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        forced_eos_token_id=eos,
        num_beams=1,
        do_sample=False,
        # an undertrained model loops on its most frequent tokens; this keeps its output varied
        no_repeat_ngram_size=2,
        repetition_penalty=1.3,
    )
    out.mkdir(parents=True)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "demo_model.json").write_text(
        json.dumps(
            {
                "model_id": DEMO_MT_MODEL_ID,
                "revision": demo_mt_revision(config),
                "config": config.model_dump(),
                "source_lang": "en",
                "target_lang": "eu",
            },
            indent=2,
        )
    )


def _train(model, data: list[tuple[list[int], list[int]]], pad: int, config: DemoMTConfig) -> None:
    def batch_loss(picks: list[int]):
        src = training.pad([data[i][0] for i in picks], pad)
        labels = training.pad([data[i][1] for i in picks], pad)
        return model(
            input_ids=src,
            attention_mask=(src != pad).long(),
            labels=labels.masked_fill(labels == pad, -100),
        ).loss

    training.train(
        model,
        config,
        examples=len(data),
        batch_loss=batch_loss,
        lr_floor=0.05,
        name="demo MT model",
    )
