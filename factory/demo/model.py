"""The tiny bilingual (Basque + English) demo model: a 2-layer Llama chat model trained for about a minute on CPU.

It exists so that `factory build recipes/magpie_eu.yaml --demo` can publish a non-empty Basque
dataset on a laptop, honestly: the model is a real `LlamaForCausalLM` with a locally trained
byte-level BPE tokenizer, the Llama 3 special tokens and the Llama 3 chat template, trained on
`data/chat_eu.jsonl` and `data/chat_en.jsonl` (CC BY-SA 4.0 Basque and English text, see
`data/ATTRIBUTION.md`) formatted as Llama 3 chat turns. It writes Basque- or English-looking
word salad, not sensible answers; the card of a demo build must say that a demo model wrote it.

Why bilingual: Basque steering (a Basque system prompt, a language cue, a logit bias) has to
change something measurable. Basque conversations carry a Basque system prompt a quarter of the
time, English ones an English system prompt half of the time, so with no system prompt the
model writes mostly Basque (about two thirds), an English system prompt pulls it to English and
a Basque one to Basque.

The model is built once per (builder config, training data) and cached under
`$FACTORY_HOME/models/demo-tiny-eu-<hash>/`; later loads take well under a second. Its lineage
is `latxa-factory/demo-tiny-eu` at revision `<hash>`. Training is seeded and runs on a fixed
number of CPU threads, so a rebuild on the same machine gives the same weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path

from pydantic import Field

from factory import settings
from factory.demo import training
from factory.recipe_base import StrictModel
from factory.settings import factory_home

logger = logging.getLogger(__name__)

DEMO_MODEL_ID = "latxa-factory/demo-tiny-eu"
DATA_FILE = Path(__file__).with_name("data") / "chat_eu.jsonl"
DATA_FILE_EN = Path(__file__).with_name("data") / "chat_en.jsonl"
# Bump when the build code changes in a way the config does not show.
BUILDER_VERSION = 2
# Test suites set this to train fewer steps (a less Basque model, built in seconds).
STEPS_ENV = "FACTORY_DEMO_TRAIN_STEPS"
# Where built demo models are cached (default: $FACTORY_HOME/models); test suites point every
# test's FACTORY_HOME elsewhere but share one cache through this.
CACHE_ENV = "FACTORY_DEMO_MODEL_CACHE"

BOS, EOS, START_HEADER, END_HEADER, EOT, PAD = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|finetune_right_pad_id|>",
)
SPECIAL_TOKENS = [BOS, EOS, START_HEADER, END_HEADER, EOT, PAD]

# Meta's Llama 3 (8B/70B Instruct) chat template, verbatim.
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# A few Basque system prompts, so the model also continues Magpie prompts that carry one.
SYSTEM_PROMPTS = [
    "Euskaraz erantzuten duen laguntzaile adimenduna zara.",
    "Laguntzaile erabilgarria zara. Erantzun beti euskaraz, argi eta labur.",
    "Zu euskarazko adimen artifiziala zara, eta erabiltzaileen galderei erantzuten diezu.",
]
SYSTEM_PROMPTS_EN = [
    "You are a helpful assistant.",
    "You are a helpful AI assistant. Always answer in English, clearly and briefly.",
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
]


class DemoModelConfig(StrictModel):
    """Everything that decides the demo model's weights (hashed into its revision)."""

    seed: int = Field(
        0, description="Seed of initialisation, data order and sampling of system prompts."
    )
    vocab_size: int = Field(2048, description="BPE vocabulary size, special tokens included.")
    hidden_size: int = Field(64, description="Model width.")
    intermediate_size: int = Field(256, description="MLP width.")
    num_hidden_layers: int = Field(2, description="Transformer layers.")
    num_attention_heads: int = Field(4, description="Attention heads.")
    num_key_value_heads: int = Field(
        2, description="Key/value heads (grouped-query attention, as in Llama 3)."
    )
    max_position_embeddings: int = Field(512, description="Longest context the model accepts.")
    train_len: int = Field(96, description="Training sequences are cut to this many tokens.")
    train_steps: int = Field(600, description="Optimizer steps.")
    batch_size: int = Field(16, description="Sequences per step.")
    learning_rate: float = Field(
        3e-3, description="Peak AdamW learning rate (linear warmup, cosine decay)."
    )
    system_prompt_fraction: float = Field(
        0.25,
        description="Share of Basque training conversations that start with a Basque system prompt.",
    )
    english_system_prompt_fraction: float = Field(
        0.5,
        description="Share of English training conversations that start with an English system prompt.",
    )
    english_repeat: int = Field(
        2,
        ge=0,
        description="Times each English conversation is in the training set (0: a Basque-only model).",
    )
    threads: int = Field(
        1,
        description="CPU threads used for training: fixed, so the weights do not depend on the core count; one thread "
        "is also the fastest for a model this small on a busy machine (OpenMP threads spin when oversubscribed).",
    )


def default_config() -> DemoModelConfig:
    """The demo's config; `FACTORY_DEMO_TRAIN_STEPS` overrides the step count (tests)."""
    steps = settings.demo_train_steps()
    return DemoModelConfig(train_steps=steps) if steps else DemoModelConfig()


def demo_revision(config: DemoModelConfig | None = None) -> str:
    """Content hash of (builder version, config, training data): the model's revision."""
    config = config or default_config()
    digest = hashlib.sha256()
    digest.update(f"builder-v{BUILDER_VERSION}\n".encode())
    digest.update(config.model_dump_json().encode())
    digest.update(DATA_FILE.read_bytes())
    digest.update(DATA_FILE_EN.read_bytes())
    return digest.hexdigest()[:16]


def demo_model_dir(config: DemoModelConfig | None = None) -> Path:
    root = settings.demo_model_cache() or factory_home() / "models"
    return root / f"demo-tiny-eu-{demo_revision(config)}"


def ensure_demo_model(config: DemoModelConfig | None = None) -> Path:
    """The demo model's folder, building it first if it is not cached (about a minute on 2 cores).

    Safe to call from several processes at once: one builds, the others wait on a file lock.
    """
    from filelock import FileLock

    config = config or default_config()
    target = demo_model_dir(config)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").exists():
            return target
        started = time.perf_counter()
        from datatrove.utils.logging import logger as console

        from factory.builds.progress import MARKER

        console.info(
            f"{MARKER} training the tiny demo model once ({config.train_steps} steps; about a minute at the default)"
        )
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".building-") as tmp:
            build_demo_model(config, Path(tmp) / "model")
            # a rename is atomic: readers see no model or a whole one
            os.replace(Path(tmp) / "model", target)
        logger.info("built demo model %s in %.0f s", target, time.perf_counter() - started)
    return target


def load_conversations(config: DemoModelConfig) -> list[list[dict[str, str]]]:
    """The bundled samples as chat conversations; a seeded share gets a system prompt in their language."""
    rng = random.Random(config.seed)
    conversations = []
    sources = [(DATA_FILE, SYSTEM_PROMPTS, config.system_prompt_fraction, 1)]
    sources.append(
        (
            DATA_FILE_EN,
            SYSTEM_PROMPTS_EN,
            config.english_system_prompt_fraction,
            config.english_repeat,
        )
    )
    for path, prompts, fraction, repeat in sources:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for _ in range(repeat):
            for row in rows:
                messages = [
                    {"role": "user", "content": row["user"]},
                    {"role": "assistant", "content": row["assistant"]},
                ]
                if rng.random() < fraction:
                    messages.insert(0, {"role": "system", "content": rng.choice(prompts)})
                conversations.append(messages)
    return conversations


def train_tokenizer(config: DemoModelConfig, texts: list[str]):
    """A byte-level BPE tokenizer (as Llama 3's) with the Llama 3 special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # No post-processor: text is encoded as given; the chat template writes BOS itself.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOT,
        pad_token=PAD,
        chat_template=LLAMA3_CHAT_TEMPLATE,
        model_max_length=config.max_position_embeddings,
        padding_side="left",
    )


def build_demo_model(config: DemoModelConfig, out: Path) -> None:
    """Train the tokenizer and the model from scratch and save both to `out`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    conversations = load_conversations(config)
    texts = [m["content"] for conv in conversations for m in conv]
    tokenizer = train_tokenizer(config, texts)
    chats = [tokenizer.apply_chat_template(conv, tokenize=False) for conv in conversations]
    sequences = [
        tokenizer(t, add_special_tokens=False)["input_ids"][: config.train_len] for t in chats
    ]
    special = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        model_config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=config.hidden_size,
            intermediate_size=config.intermediate_size,
            num_hidden_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            num_key_value_heads=config.num_key_value_heads,
            max_position_embeddings=config.max_position_embeddings,
            tie_word_embeddings=True,
            bos_token_id=special[BOS],
            eos_token_id=[special[EOT], special[EOS]],
            pad_token_id=special[PAD],
        )
        model = LlamaForCausalLM(model_config)
        _train(model, sequences, special[PAD], config)
    finally:
        torch.set_num_threads(previous_threads)

    model.generation_config = GenerationConfig(
        bos_token_id=special[BOS],
        eos_token_id=[special[EOT], special[EOS]],
        pad_token_id=special[PAD],
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
    )
    out.mkdir(parents=True)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a "Writing model shards" bar would break the build's console lines
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "demo_model.json").write_text(
        json.dumps(
            {
                "model_id": DEMO_MODEL_ID,
                "revision": demo_revision(config),
                "config": config.model_dump(),
            },
            indent=2,
        )
    )


def _train(model, sequences: list[list[int]], pad_id: int, config: DemoModelConfig) -> None:
    """Next-token loss on whole conversations (the user turn too: Magpie samples it)."""

    def batch_loss(picks: list[int]):
        batch = [sequences[i] for i in picks]
        input_ids = training.pad(batch, pad_id)
        mask = training.pad([[1] * len(seq) for seq in batch], 0)
        labels = input_ids.masked_fill(mask == 0, -100)
        return model(input_ids=input_ids, attention_mask=mask, labels=labels).loss

    training.train(
        model,
        config,
        examples=len(sequences),
        batch_loss=batch_loss,
        lr_floor=0.1,
        name="demo model",
    )
