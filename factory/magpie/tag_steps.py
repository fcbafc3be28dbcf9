"""The steps of a `magpie_tags` build, as datatrove `PipelineStep`s.

1. `DatasetRowsReader` gives task `rank` a contiguous run of the input rows (row positions are
   global, so results do not depend on the task count's split of files).
2. `Tagger` tags `checkpoint_every` rows at a time: judge (one generate call per tag, so vLLM
   batches it), reward model, language, embedding. Each finished chunk is a checkpoint
   (tags JSONL + embeddings .npy, both atomic); a rerun after a SIGKILL reuses finished chunks
   whose row ids match and redoes the rest with the same inputs, so the content is the same.
3. `NeighbourIndexBuilder` (one task) streams every chunk's embeddings into one faiss index.
4. `NeighbourTagger` queries the index for each task's rows; `TaggedRows` writes the row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched

from factory.builds.files import save_npy_atomic, write_text_atomic
from factory.builds.progress import TaskProgress
from factory.errors import BuildError, EngineError
from factory.magpie.ann import IndexParams, NeighbourIndex, build_index
from factory.magpie.checkpoints import ChunkCheckpoints
from factory.magpie.judge import MALFORMED, PREFILL, STOP, TASKS, judge_message, parse_judgement

TAG_COLUMNS = (
    "input_quality",
    "difficulty",
    "task_category",
    "instruct_reward",
    "instruction_language",
    "min_neighbor_distance",
    "min_similar_id",
    "repeat_count",
)


def first_turns(row: dict) -> tuple[str, str | None]:
    """(instruction, response) of a Magpie row: `conversations` (this project) or flat columns (Magpie's)."""
    turns = row.get("conversations")
    if turns:
        user = next((t["content"] for t in turns if t["role"] == "user"), "")
        answer = next((t["content"] for t in turns if t["role"] == "assistant"), None)
        return user, answer
    return row.get("instruction") or "", row.get("response")


def split_of(path: str) -> str:
    """The split of a published shard (`train-00000-of-00001.parquet` -> `train`)."""
    return Path(path).name.split("-")[0]


class DatasetRowsReader(PipelineStep):
    """Reads parquet rows; task `rank` takes positions [n·rank/ws, n·(rank+1)/ws).

    Output columns: `metadata.row` (the input row), `metadata.position` (global row number),
    `metadata.split` (from the shard's file name).
    """

    type = "📖 - READER"
    name = "🐦 Magpie rows reader"

    def __init__(self, files: Sequence[str]):
        super().__init__()
        self.files = [str(f) for f in files]

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1):
        import pyarrow.parquet as pq

        if data:
            yield from data
        sizes = [pq.ParquetFile(f).metadata.num_rows for f in self.files]
        total = sum(sizes)
        start, end = total * rank // world_size, total * (rank + 1) // world_size
        offset = 0
        for path, size in zip(self.files, sizes):
            if offset + size > start and offset < end:
                rows = pq.read_table(path).to_pylist()
                for i in range(max(start, offset), min(end, offset + size)):
                    row = rows[i - offset]
                    self.stat_update("documents")
                    yield Document(
                        text=first_turns(row)[0],
                        id=str(row.get("id", i)),
                        metadata={"row": row, "position": i, "split": split_of(path)},
                    )
            offset += size


class Tagger(PipelineStep):
    """Judge, reward, language and embedding of each row, checkpointed per chunk.

    Output columns: `metadata.tags` (judge labels, `instruct_reward`, `instruction_language`).
    Stats: `judge_<column>_malformed` counts output that is not one of the allowed labels.
    """

    type = "🏷️ - TAGGER"
    name = "🏷️ Magpie tags"

    def __init__(self, spec, checkpoint_dir: str):
        super().__init__()
        self.spec = spec  # TagsSpec
        self.checkpoint_dir = checkpoint_dir
        self._judge = None
        self._reward = None
        self._embedder = None

    # -- models, loaded on first use so a fully resumed task loads none
    @property
    def judge(self):
        if self._judge is None:
            from factory.engines import make_engine

            self._judge = make_engine(self.spec.judge.engine)
        return self._judge

    @property
    def reward(self):
        if self._reward is None:
            from factory.magpie.reward import RewardScorer

            r = self.spec.reward
            self._reward = RewardScorer(r.model, r.revision, r.batch_size, r.max_length)
        return self._reward

    @property
    def embedder(self):
        if self._embedder is None:
            from factory.magpie.embeddings import make_embedder

            self._embedder = make_embedder(self.spec.neighbours.model)
        return self._embedder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        checkpoints = ChunkCheckpoints(self.checkpoint_dir, rank)
        progress = TaskProgress("rows tagged", rank)
        try:
            for k, batch in enumerate(batched(data, self.spec.checkpoint_every)):
                records = checkpoints.load(k)
                vectors_path = checkpoints.path(k).with_suffix(".npy")
                if (
                    records is None
                    or [r["id"] for r in records] != [doc.id for doc in batch]
                    or (self.spec.neighbours.enabled and not vectors_path.exists())
                ):
                    records = self._tag_chunk(batch, vectors_path)
                    checkpoints.save(
                        k, records
                    )  # after the vectors: the JSONL marks the chunk done
                    self.stat_update("chunks_tagged")
                else:
                    self.stat_update("chunks_resumed")
                progress.advance(len(batch))
                for doc, record in zip(batch, records):
                    doc.metadata["tags"] = record["tags"]
                    for column, value in record["tags"].items():
                        if value == MALFORMED:
                            self.stat_update(f"judge_{column}_malformed")
                    yield doc
        finally:
            if self._judge is not None:
                self._judge.close()

    def _tag_chunk(self, batch: list[Document], vectors_path: Path) -> list[dict]:
        pairs = [first_turns(doc.metadata["row"]) for doc in batch]
        instructions = [p[0] for p in pairs]
        tags: list[dict] = [{} for _ in batch]
        spec = self.spec
        if spec.judge.enabled:
            for task in spec.judge.tasks:
                with self.track_time("judge"):
                    labels = self._judge_task(task, instructions)
                for row_tags, label in zip(tags, labels):
                    row_tags[TASKS[task].column] = label
        if spec.reward.enabled:
            scorable = [i for i, (_, r) in enumerate(pairs) if r is not None]
            with self.track_time("reward"):
                scores = self.reward.score([(pairs[i][0], pairs[i][1]) for i in scorable])
            for row_tags in tags:
                row_tags["instruct_reward"] = None
            for i, score in zip(scorable, scores):
                tags[i]["instruct_reward"] = score
        if spec.language.enabled:
            from factory.langid import top_language

            for row_tags, text in zip(tags, instructions):
                row_tags["instruction_language"] = top_language(text, spec.language.method)[0]
        if spec.neighbours.enabled:
            with self.track_time("embed"):
                vectors = self.embedder.embed(instructions).astype(np.float32)
            save_npy_atomic(vectors_path, vectors)
        return [
            {"id": doc.id, "position": doc.metadata["position"], "tags": t}
            for doc, t in zip(batch, tags)
        ]

    def _judge_task(self, task: str, instructions: list[str]) -> list[str]:
        from factory.engines import SamplingParams

        engine = self.judge
        tokenizer = engine.tokenizer
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise EngineError(
                f"tags.judge.engine {engine.model_id!r}: the judge needs a chat template (none found)"
            )
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": judge_message(task, text)}],
                tokenize=False,
                add_generation_prompt=True,
            )
            + PREFILL
            for text in instructions
        ]
        params = SamplingParams(
            temperature=0.0, top_p=1.0, max_tokens=self.spec.judge.max_tokens, stop=[STOP], seed=0
        )
        outputs = engine.generate(prompts, params)
        return [parse_judgement(task, completions[0].text) for completions in outputs]


def chunk_files(checkpoint_dir: Path) -> list[tuple[Path, Path]]:
    """(tags JSONL, vectors .npy) of every finished chunk, in row order (rank, then chunk)."""
    pairs = []
    for tags in sorted(checkpoint_dir.glob("*/*.jsonl")):
        pairs.append((tags, tags.with_suffix(".npy")))
    return pairs


class NeighbourIndexBuilder(PipelineStep):
    """Builds the index of all rows' embeddings (one task; memory: the index plus one chunk)."""

    type = "🧭 - INDEX"
    name = "🧭 Magpie neighbour index"

    def __init__(self, checkpoint_dir: str, index_dir: str, params: IndexParams):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.index_dir = Path(index_dir)
        self.params = params

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1):
        if data:
            yield from data
        shards, ids, expected = [], [], 0
        for tags_path, vectors_path in chunk_files(self.checkpoint_dir):
            records = [json.loads(line) for line in tags_path.read_text().splitlines() if line]
            positions = [r["position"] for r in records]
            if positions != list(range(expected, expected + len(records))):
                raise BuildError(
                    f"neighbour index: chunk {tags_path} holds rows {positions[:1]}.. where row {expected} was expected; "
                    "remove the build's work dir and rebuild"
                )
            expected += len(records)
            shards.append(np.load(vectors_path, mmap_mode="r"))
            ids.extend(r["id"] for r in records)
        with self.track_time("build"):
            built = build_index(shards, ids, self.index_dir, self.params)
        write_text_atomic(self.index_dir / "built.json", json.dumps(built, sort_keys=True))
        self.stat_update("rows_indexed", value=built["rows"])


class NeighbourTagger(PipelineStep):
    """Adds `min_neighbor_distance`, `min_similar_id`, `repeat_count` to `metadata.tags`."""

    type = "🧭 - TAGGER"
    name = "🧭 Magpie nearest neighbours"

    def __init__(self, index_dir: str, k: int, threshold: float, nprobe: int, batch_size: int):
        super().__init__()
        self.index_dir = Path(index_dir)
        self.k, self.threshold, self.nprobe, self.batch_size = k, threshold, nprobe, batch_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        index = NeighbourIndex(self.index_dir, self.nprobe)
        for batch in batched(data, self.batch_size):
            with self.track_time("search"):
                found = index.query([d.metadata["position"] for d in batch], self.k, self.threshold)
            for doc, hood in zip(batch, found):
                tags = doc.metadata.setdefault("tags", {})
                tags["min_neighbor_distance"] = hood.min_neighbor_distance
                tags["min_similar_id"] = index.ids[hood.min_similar_position]
                tags["repeat_count"] = hood.repeat_count
                if hood.repeat_count:
                    self.stat_update("rows_with_near_duplicates")
                yield doc


class TaggedRows(PipelineStep):
    """The published row: the input row plus one column per tag (`metadata.row`, split `train`)."""

    type = "📦 - FORMAT"
    name = "🏷️ Magpie tagged rows"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        for doc in data:
            row = dict(doc.metadata["row"])
            clash = set(row) & set(doc.metadata.get("tags", {}))
            if clash:
                # a re-tagged dataset: the new tags replace the old columns
                self.stat_update("columns_replaced", value=len(clash))
            row.update(doc.metadata.get("tags", {}))
            doc.metadata["row"] = row
            doc.metadata["split"] = doc.metadata.get("split") or "train"
            self.stat_update("rows")
            yield doc
