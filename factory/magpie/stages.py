"""The two generation steps of a Magpie build, as datatrove `PipelineStep`s.

Instructions: the prompt space (indices 0..n_instructions-1) is cut into chunks of
`checkpoint_every`; task `rank` of `world_size` takes a contiguous run of chunks, and chunk `k`
is one generate call seeded with `derive_seed(seed, "magpie", "instructions", k)`. Seeds hang on
chunks, not ranks, so the same recipe gives the same instructions whatever the number of tasks.
Responses: each task answers its shard of the instruction stage's output, `checkpoint_every`
conversations per generate call. Every finished chunk is checkpointed (`checkpoints.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched

from factory.builds.progress import TaskProgress
from factory.builds.seeds import derive_seed
from factory.engines.spec import EngineSpec
from factory.magpie.checkpoints import ChunkCheckpoints
from factory.magpie.conversation import add_turn, conversation
from factory.magpie.recipe import Sampling
from factory.magpie.templates import ResolvedTemplate


def chunk_bounds(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """[start, end) of each chunk of the prompt space."""
    return [(start, min(start + chunk_size, n_items)) for start in range(0, n_items, chunk_size)]


def rank_chunks(n_chunks: int, rank: int, world_size: int) -> range:
    """The contiguous chunk indices task `rank` owns (rank order = prompt order)."""
    return range(n_chunks * rank // world_size, n_chunks * (rank + 1) // world_size)


def stop_token_ids(tokenizer, template: ResolvedTemplate) -> list[int]:
    """The template's stop tokens as this tokenizer numbers them.

    The table's ids are right for the family's real tokenizer; a model with its own vocabulary
    (the demo model) has the same special tokens under other ids.
    """
    if tokenizer is None:
        return list(template.stop_token_ids)
    vocab = tokenizer.get_vocab()
    return sorted({vocab[s] for s in template.stop if s in vocab})


class _GenerationStep(PipelineStep):
    type = "🧠 - GENERATE"
    _requires_dependencies = ["transformers"]

    def __init__(
        self,
        engine: EngineSpec,
        template: ResolvedTemplate,
        seed: int,
        checkpoint_dir: str,
        checkpoint_every: int,
    ):
        super().__init__()
        self.engine_spec = engine
        self.template = template
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from factory.engines import make_engine

            self._engine = make_engine(self.engine_spec)
        return self._engine

    def encode(self, text: str) -> str:
        """The prompt as text: every engine tokenizes it without adding a BOS (templates carry theirs)."""
        return text

    def chat_prompt(self, messages: list[dict], *, generation_prompt: bool) -> str:
        tokenizer = self.engine.tokenizer
        if not self.has_chat_template():
            from factory.errors import EngineError

            raise EngineError(
                f"engine {self.engine_spec.model!r}: Magpie's follow-up turns need the model's chat template, "
                "but the engine has no tokenizer with one (give engine.model as a local folder)"
            )
        return tokenizer.apply_chat_template(
            self.system_messages() + messages,
            tokenize=False,
            add_generation_prompt=generation_prompt,
        )

    def has_chat_template(self) -> bool:
        tokenizer = self.engine.tokenizer
        return tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))

    def system_messages(self) -> list[dict]:
        if not self.template.system_prompt:
            return []
        return [{"role": "system", "content": self.template.system_prompt}]

    def respond(
        self, chats: list[list[dict]], sampling: Sampling, seed: int
    ) -> list[tuple[str, dict]]:
        """The assistant's next turn: the chat template applied here, or by the server's chat endpoint."""
        if self.has_chat_template() or not hasattr(self.engine, "chat"):
            prompts = [self.encode(self.chat_prompt(c, generation_prompt=True)) for c in chats]
            return self.generate(prompts, sampling, seed, "assistant")
        chats = [self.system_messages() + c for c in chats]
        return self.generate(chats, sampling, seed, "assistant", chat=True)

    def generate(
        self,
        prompts: list,
        sampling: Sampling,
        seed: int,
        role: str,
        first_token_bias: dict[int, float] | None = None,
        *,
        chat: bool = False,
    ) -> list[tuple[str, dict]]:
        params = sampling.params(
            self.template,
            stop_token_ids(self.engine.tokenizer, self.template),
            seed,
            first_token_bias,
        )
        with self.track_time("generate"):
            call = self.engine.chat if chat else self.engine.generate
            outputs = call(prompts, params)
        results = []
        for completion, *_rest in outputs:
            self.stat_update(f"{role}_completion_tokens", value=completion.completion_tokens)
            facts = {
                "role": role,
                "seed": seed,
                "finish_reason": completion.finish_reason,
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
            }
            results.append((completion.text.strip(), facts))
        return results

    def model_info(self) -> dict:
        return {"model": self.engine.model_id, "model_revision": self.engine.model_revision}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


class InstructionGenerator(_GenerationStep):
    """Samples user turns by letting the model continue the pre-query template.

    Input columns: none (a source step; documents passed in are forwarded first).
    Output columns: `metadata.conversations` = [user turn], `metadata.turns`, `metadata.index`,
    `metadata.model`, `metadata.model_revision`; `id` = `<control or general>_<index:08d>`.
    References: Xu et al. 2024, "Magpie: Alignment Data Synthesis from Scratch by Prompting
    Aligned LLMs with Nothing" (arXiv:2406.08464).
    """

    name = "🐦 Magpie instructions"

    def __init__(
        self,
        *,
        n_instructions: int,
        sampling: Sampling,
        avoid_first_words: Sequence[str] = (),
        first_token_bias: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n_instructions = n_instructions
        self.sampling = sampling
        self.avoid_first_words = list(avoid_first_words)
        self.first_token_bias = first_token_bias
        self.id_prefix = self.template.control or "general"

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        if data:
            yield from data
        bounds = chunk_bounds(self.n_instructions, self.checkpoint_every)
        checkpoints = ChunkCheckpoints(self.checkpoint_dir, rank)
        mine = rank_chunks(len(bounds), rank, world_size)
        progress = TaskProgress("instruction chunks", rank, total=len(mine))
        try:
            for k in mine:
                records = checkpoints.load(k)
                if records is None:
                    records = self._generate_chunk(k, *bounds[k])
                    checkpoints.save(k, records)
                    self.stat_update("chunks_generated")
                else:
                    self.stat_update("chunks_resumed")
                progress.advance()
                for record in records:
                    yield self._document(record)
        finally:
            self.close()

    def _generate_chunk(self, k: int, start: int, end: int) -> list[dict]:
        prompt = self.encode(self.template.pre_query)
        seed = derive_seed(self.seed, "magpie", "instructions", k)
        bias = None
        if self.avoid_first_words:
            from factory.magpie.recipe import first_token_ids

            ids = first_token_ids(self.engine.tokenizer, self.avoid_first_words)
            bias = dict.fromkeys(ids, self.first_token_bias)
        outputs = self.generate([prompt] * (end - start), self.sampling, seed, "user", bias)
        info = self.model_info()
        return [
            {"index": start + i, "text": text, "facts": facts, **info}
            for i, (text, facts) in enumerate(outputs)
        ]

    def _document(self, record: dict) -> Document:
        doc = Document(
            text="",
            id=f"{self.id_prefix}_{record['index']:08d}",
            metadata={
                "index": record["index"],
                "model": record["model"],
                "model_revision": record["model_revision"],
            },
        )
        add_turn(doc, "user", record["text"], record["facts"])
        return doc


class ResponseGenerator(_GenerationStep):
    """Answers each conversation through the model's chat template; optional follow-up turns.

    For `n_turns > 1`, each next user turn continues the chat so far plus the family's
    `mt_append` (Magpie's `gen_mt.py`), then the model answers it.
    Input columns: `metadata.conversations` (one user turn).
    Output columns: `metadata.conversations` with `2 * n_turns` turns, `metadata.turns`.
    """

    name = "🐦 Magpie responses"

    def __init__(self, *, response: Sampling, instruction: Sampling, n_turns: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.response = response
        self.instruction = instruction
        self.n_turns = n_turns

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        checkpoints = ChunkCheckpoints(self.checkpoint_dir, rank)
        progress = TaskProgress("conversations answered", rank)
        try:
            for k, batch in enumerate(batched(data, self.checkpoint_every)):
                records = checkpoints.load(k)
                if records is None or [r["id"] for r in records] != [doc.id for doc in batch]:
                    # (a checkpoint for other documents would mean the input changed under us: redo it)
                    records = self._generate_chunk(rank, k, batch)
                    checkpoints.save(k, records)
                    self.stat_update("chunks_generated")
                else:
                    self.stat_update("chunks_resumed")
                progress.advance(len(batch))
                for doc, record in zip(batch, records):
                    for role, text, facts in record["turns"]:
                        add_turn(doc, role, text, facts)
                    yield doc
        finally:
            self.close()

    def _generate_chunk(self, rank: int, k: int, batch: Sequence[Document]) -> list[dict]:
        chats = [[dict(m) for m in conversation(doc)] for doc in batch]
        added: list[list] = [[] for _ in batch]
        for turn in range(self.n_turns):
            if turn > 0:
                prompts = [
                    self.encode(
                        self.chat_prompt(c, generation_prompt=False) + self.template.mt_append
                    )
                    for c in chats
                ]
                seed = derive_seed(self.seed, "magpie", "followups", rank, k, turn)
                self._append(
                    chats, added, "user", self.generate(prompts, self.instruction, seed, "user")
                )
            seed = derive_seed(self.seed, "magpie", "responses", rank, k, turn)
            self._append(chats, added, "assistant", self.respond(chats, self.response, seed))
        return [{"id": doc.id, "turns": turns} for doc, turns in zip(batch, added)]

    @staticmethod
    def _append(
        chats: list[list[dict]], added: list[list], role: str, outputs: list[tuple[str, dict]]
    ) -> None:
        for chat, new, (text, facts) in zip(chats, added, outputs):
            chat.append({"role": role, "content": text})
            new.append([role, text, facts])
