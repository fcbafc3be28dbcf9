"""The pipeline step that fits the leaderboards once every battle has passed through.

It forwards documents unchanged and, when its input is exhausted, writes
`leaderboard.json` (ratings, intervals, records, matrices per dimension, annotator counts by
hash) and the plots into its folder; `plan.card_context` and `plan.extra_files` read them.
It must run in a single-task stage: a fit needs every battle.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.errors import FactoryError
from factory.preferences.leaderboard import compute_leaderboard

LEADERBOARD_FILE = "leaderboard.json"


def plot_paths(folder: Path, dimension: str) -> dict[str, Path]:
    """Repo path -> local file of a dimension's two plots."""
    return {
        f"plots/ratings_{dimension}.png": folder / f"ratings_{dimension}.png",
        f"plots/win_rate_{dimension}.png": folder / f"win_rate_{dimension}.png",
    }


def annotator_summary(annotators: list[str | None], top: int = 10) -> dict:
    """Votes per annotator, by salted hash only."""
    counts = Counter(a for a in annotators if a)
    per = sorted(counts.values())
    return {
        "annotators": len(counts),
        "votes": len(annotators),
        "anonymous_votes": sum(1 for a in annotators if not a),
        "median_votes_per_annotator": per[len(per) // 2] if per else 0,
        "max_votes_per_annotator": per[-1] if per else 0,
        "top": [
            [hash_, n] for hash_, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ],
    }


class FitLeaderboards(PipelineStep):
    """Bradley-Terry leaderboards of the `default` rows passing through, one per dimension.

    Input columns: `metadata["row"]` with `metadata["config"] == "default"`.
    Output: the same documents; files in `out_dir`.
    """

    name = "🏆 Leaderboards"
    type = "📊 - STATS"

    def __init__(
        self,
        out_dir: str,
        dimensions: list[str],
        seeds: dict[str, int],
        *,
        bootstrap: int = 1000,
        ci_level: float = 0.95,
        scale: float = 400.0,
        base: float = 10.0,
        initial: float = 1000.0,
    ):
        super().__init__()
        self.out_dir = out_dir
        self.dimensions = list(dimensions)
        self.seeds = dict(seeds)
        self.options = {
            "bootstrap": bootstrap,
            "ci_level": ci_level,
            "scale": scale,
            "base": base,
            "initial": initial,
        }

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        battles = []
        for doc in data:
            if doc.metadata.get("config", "default") == "default":
                battles.append(doc.metadata["row"])
            yield doc
        if not battles:  # the runner reports an empty build with its drop reasons
            self.stat_update("no_battles")
            return
        folder = Path(self.out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        from factory.preferences.plots import plot_ratings, plot_win_rates

        boards = []
        for dimension in self.dimensions:
            with self.track_time("fit"):
                try:
                    board = compute_leaderboard(
                        battles, dimension, seed=self.seeds[dimension], **self.options
                    )
                except (
                    FactoryError
                ) as error:  # nothing to rate in this dimension: say so in the card
                    boards.append({"dimension": dimension, "error": str(error)})
                    self.stat_update(f"unrated_{dimension}")
                    continue
            paths = plot_paths(folder, dimension)
            plot_ratings(board, paths[f"plots/ratings_{dimension}.png"])
            plot_win_rates(board, paths[f"plots/win_rate_{dimension}.png"])
            boards.append(board.to_dict() | {"plots": sorted(paths)})
            self.stat_update(
                "rated_models", value=sum(1 for s in board.standings if s.rating is not None)
            )
        summary = {
            "leaderboards": boards,
            "annotators": annotator_summary([b.get("annotator") for b in battles]),
            "battles": len(battles),
        }
        (folder / LEADERBOARD_FILE).write_text(
            json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
        )
