"""The `excluded` config: every dropped document with its reason, published beside the corpus.

One row per document the build dropped (bad input, a filter, a duplicate): `id`, `source`,
`url`, `stage`, `reason`, and for a duplicate the kept document's `duplicate_of_id` and
`duplicate_of_source`, so a user can audit the drops on the Hub
(`factory.hub.load(repo, revision=..., config="excluded")`). Texts are left out: the
published corpus already holds the kept copy of every duplicate.
"""

from __future__ import annotations

from pathlib import PurePath

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.builds.readers import StageOutputReader

EXCLUDED_CONFIG = "excluded"


class ExcludedRows(PipelineStep):
    """Turns the exclusion writers' documents into `excluded` rows (split `train`).

    Reads `metadata["dropped_in"]` (the stage, set by the reader) and the reason the dropping
    step recorded (`filter_reason`, or `quarantine_reason` for unreadable input).
    """

    name = "🗑 Excluded rows"
    type = "✂️ - FORMAT"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            meta = doc.metadata
            reason = meta.get("filter_reason") or meta.get("quarantine_reason") or "unknown"
            doc_id = str(doc.id)
            if meta.get("quarantine_reason"):
                # a record that could not be read is named file:line; never publish local paths
                doc_id = PurePath(doc_id).name
            kept = meta.get("duplicate_of") or {}
            meta["row"] = {
                "id": doc_id,
                "source": meta.get("source"),
                "url": meta.get("url"),
                "stage": meta.get("dropped_in"),
                "reason": reason,
                "duplicate_of_id": kept.get("id"),
                "duplicate_of_source": kept.get("source"),
            }
            meta["config"] = EXCLUDED_CONFIG
            meta["split"] = "train"
            self.stat_update(reason)
            yield doc


class ExclusionReader(StageOutputReader):
    """Reads a stage's exclusion files; a stage that dropped nothing has none, which is no error."""

    name = "🗑 Exclusions"
