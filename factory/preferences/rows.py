"""Published rows: one per battle (config `default`) and prompt/chosen/rejected pairs (config `dpo`).

The `dpo` rows use TRL's conversational preference format: `prompt` is the list of shared
messages up to the last user turn both sides answered, `chosen` and `rejected` the assistant
turns that answer it on the winning and losing side (never a later user turn).
"""

from __future__ import annotations

import json

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.preferences.records import WINNER_FIELD


def battle_row(battle: dict) -> dict:
    """The `default` row: what was asked, both conversations, the three votes, the annotator hash."""
    prompt = next((m["content"] for m in battle["conv_a"] if m["role"] == "user"), "")
    hyper = battle.get("hyperparameters")
    return {
        "battle_id": battle["battle_id"],
        "timestamp": battle["timestamp"],
        "prompt": prompt,
        "model_a": battle["model_a"],
        "model_b": battle["model_b"],
        "conv_a": [{"role": m["role"], "content": m["content"]} for m in battle["conv_a"]],
        "conv_b": [{"role": m["role"], "content": m["content"]} for m in battle["conv_b"]],
        "winner": battle["winner"],
        "winner_content": battle["winner_content"],
        "winner_language": battle["winner_language"],
        "annotator": battle.get("annotator"),
        "id": battle.get("id"),
        "user_language": battle.get("user_language"),
        "user_education": battle.get("user_education"),
        # free-form settings would give every battle its own parquet schema: keep them as JSON text
        "hyperparameters": json.dumps(hyper, sort_keys=True, ensure_ascii=False)
        if hyper is not None
        else None,
    }


def shared_prompt_length(conv_a: list[dict], conv_b: list[dict]) -> int:
    """Messages up to and including the last user turn of the prefix both conversations share."""
    cut = 0
    for i, (left, right) in enumerate(zip(conv_a, conv_b)):
        if left != right:
            break
        if left["role"] == "user":
            cut = i + 1
    return cut


def assistant_answer(conversation: list[dict]) -> list[dict]:
    """The assistant turns that open `conversation`, up to the next user turn (excluded).

    In a multi-turn battle the user's next message differs between the sides (it answers a
    different reply): it is the user's text, never part of what a model is preferred for.
    """
    answer = []
    for message in conversation:
        if message["role"] != "assistant":
            break
        answer.append(message)
    return answer


def dpo_row(battle: dict, dimension: str) -> dict | None:
    """A preference pair, or None for a tie (or when both sides answered identically)."""
    vote = battle[WINNER_FIELD[dimension]]
    if vote not in ("model_a", "model_b"):
        return None
    win, lose = ("a", "b") if vote == "model_a" else ("b", "a")
    conv_win = [{"role": m["role"], "content": m["content"]} for m in battle[f"conv_{win}"]]
    conv_lose = [{"role": m["role"], "content": m["content"]} for m in battle[f"conv_{lose}"]]
    cut = shared_prompt_length(conv_win, conv_lose)
    chosen, rejected = assistant_answer(conv_win[cut:]), assistant_answer(conv_lose[cut:])
    if not chosen or not rejected or chosen == rejected:
        return None
    return {
        "battle_id": battle["battle_id"],
        "prompt": conv_win[:cut],
        "chosen": chosen,
        "rejected": rejected,
        "model_chosen": battle[f"model_{win}"],
        "model_rejected": battle[f"model_{lose}"],
        "dimension": dimension,
    }


class BattleRows(PipelineStep):
    """Emit the `default` row of each battle and, when enabled, its `dpo` row.

    Input columns: `metadata["battle"]`. Output: documents with `metadata["row"]`,
    `metadata["split"]`, `metadata["config"]`, ready for `RowWriter`.
    """

    name = "🧮 Preference rows"
    type = "✂️ - FORMAT"

    def __init__(self, split: str = "train", dpo_dimension: str | None = "overall"):
        super().__init__()
        self.split = split
        self.dpo_dimension = dpo_dimension

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            battle = dict(doc.metadata["battle"], battle_id=doc.id)
            row = battle_row(battle)
            self.stat_update("battles")
            yield Document(
                text=row["prompt"],
                id=doc.id,
                metadata={"row": row, "split": self.split, "config": "default"},
            )
            if self.dpo_dimension is None:
                continue
            pair = dpo_row(battle, self.dpo_dimension)
            if pair is None:
                is_tie = battle[WINNER_FIELD[self.dpo_dimension]] not in ("model_a", "model_b")
                self.stat_update("dpo_skipped_tie" if is_tie else "dpo_skipped_identical_answers")
                continue
            self.stat_update("dpo_pairs")
            yield Document(
                text=row["prompt"],
                id=f"{doc.id}-dpo",
                metadata={"row": pair, "split": self.split, "config": "dpo"},
            )
