"""The step that turns a surviving conversation into its published row (`schema.MagpieRow`)."""

from __future__ import annotations

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.magpie.conversation import conversation, tags
from factory.magpie.recipe import MagpieRecipe
from factory.magpie.schema import FilterTags, MagpieRow, Message, SamplingRecord, TurnRecord


class MagpieRowBuilder(PipelineStep):
    """Sets `metadata["row"]` (a validated `MagpieRow`) and `metadata["split"] = "train"`.

    Input columns: `metadata.conversations`, `metadata.turns`, `metadata.model`,
    `metadata.model_revision`, `metadata.filter_tags`.
    Output columns: `metadata.row`, `metadata.split`.
    """

    type = "📦 - FORMAT"
    name = "🐦 Magpie rows"

    def __init__(self, recipe: MagpieRecipe):
        super().__init__()
        magpie = recipe.magpie
        template = magpie.resolved_template()
        self.fixed = {
            "language": magpie.language,
            "template": template.name,
            "pre_query_template": template.pre_query,
            "control": template.control,
            "system_prompt": template.system_prompt,
            "instruction_sampling": SamplingRecord(
                **magpie.instruction.model_dump(exclude={"stop"})
            ),
            "response_sampling": SamplingRecord(**magpie.response.model_dump(exclude={"stop"})),
            "seed": recipe.seed,
        }

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            row = MagpieRow(
                id=doc.id,
                conversations=[Message(**m) for m in conversation(doc)],
                model=doc.metadata["model"],
                model_revision=doc.metadata.get("model_revision"),
                turns=[TurnRecord(**t) for t in doc.metadata.get("turns", [])],
                filter_tags=FilterTags(**tags(doc)),
                **self.fixed,
            )
            doc.metadata["row"] = row.model_dump(mode="json")
            doc.metadata["split"] = "train"
            self.stat_update("rows")
            yield doc
