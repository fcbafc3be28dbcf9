"""The eval suite spec: a model at a revision and a list of tasks.

A task is either the name of a task lm-evaluation-harness already has (`xcopa_eu`,
`basque_bench`) or a dataset this project published, `org/name@revision`, with the prompt
that turns its rows into an lm-eval task.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from factory.recipe_base import StrictModel
from factory.train.specfile import pinned_dataset, pinned_model_revision

TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
OutputType = Literal["generate_until", "multiple_choice", "loglikelihood", "loglikelihood_rolling"]

# lm-eval's usual metrics per output type, used when a task gives no metric_list
DEFAULT_METRICS: dict[str, list[dict[str, Any]]] = {
    "generate_until": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}],
    "multiple_choice": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    "loglikelihood": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    "loglikelihood_rolling": [
        {
            "metric": "word_perplexity",
            "aggregation": "weighted_perplexity",
            "higher_is_better": False,
        }
    ],
}
# model_args the wrapper writes itself, or that would leak a secret into a command line
RESERVED_MODEL_ARGS = frozenset({"pretrained", "revision", "token", "use_auth_token"})


def _task_name(value: str) -> str:
    if not TASK_NAME.match(value):
        raise ValueError(f"task name {value!r} may hold only letters, digits, '_', '-' and '.'")
    return value


class DatasetTask(StrictModel):
    """An lm-eval task made from a dataset published by this project."""

    task: str = Field(description="Name of the generated lm-eval task (letters, digits, _ - .).")
    dataset: str = Field(
        description="The dataset as `org/name@revision` (a tag or commit sha; resolved to a sha)."
    )
    config: str | None = Field(
        None, description="Dataset config (default: the card's default config)."
    )
    test_split: str = Field("test", description="Split the model is scored on.")
    fewshot_split: str | None = Field(None, description="Split few-shot examples are drawn from.")
    output_type: OutputType = Field(description="How lm-eval scores the model on each row.")
    doc_to_text: str = Field(
        description="Jinja template of the prompt, over the row's columns, e.g. '{{question}}'."
    )
    doc_to_target: str = Field(description="Jinja template (or column name) of the gold answer.")
    doc_to_choice: str | list[str] | None = Field(
        None,
        description="multiple_choice only: a Jinja template giving the list of choices, or the list itself.",
    )
    target_delimiter: str | None = Field(
        None, description="Text between prompt and answer (lm-eval default: ' ')."
    )
    generation_kwargs: dict[str, Any] | None = Field(
        None,
        description="generate_until only: e.g. {until: ['\\n'], max_gen_toks: 256, do_sample: false}.",
    )
    metric_list: list[dict[str, Any]] | None = Field(
        None,
        description="lm-eval metric_list; default: exact_match for generate_until, acc otherwise.",
    )
    num_fewshot: int | None = Field(None, ge=0, description="Few-shot examples for this task.")
    version: float = Field(
        1.0, description="Task version, recorded as metadata.version in the results."
    )
    backend: Literal["local", "hub"] | None = Field(
        None,
        description="Store to resolve the dataset in; default: the local store if it has it, else the Hub.",
    )

    @field_validator("task")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _task_name(value)

    @field_validator("dataset")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return pinned_dataset(value)

    @model_validator(mode="after")
    def _choices_match_type(self) -> DatasetTask:
        if self.output_type == "multiple_choice" and self.doc_to_choice is None:
            raise ValueError(
                "output_type multiple_choice needs doc_to_choice (a template or a list of choices)"
            )
        if self.output_type != "multiple_choice" and self.doc_to_choice is not None:
            raise ValueError(
                f"doc_to_choice is only for multiple_choice tasks (this one is {self.output_type})"
            )
        if self.generation_kwargs is not None and self.output_type != "generate_until":
            raise ValueError(
                f"generation_kwargs is only for generate_until tasks (this one is {self.output_type})"
            )
        if self.fewshot_split is None and self.num_fewshot:
            raise ValueError(
                "num_fewshot > 0 needs fewshot_split (the split few-shot examples come from)"
            )
        return self


def suite_task_names(tasks: list[str | DatasetTask]) -> list[str]:
    """The lm-eval name of every task of a suite, in order."""
    return [t if isinstance(t, str) else t.task for t in tasks]


# A task is a name or a mapping; the discriminator keeps pydantic from reporting both union arms.
# Tags hold "[" so that factory.recipes' error formatter leaves them out of the field path.
SuiteTask = Annotated[
    Union[Annotated[str, Tag("[name]")], Annotated[DatasetTask, Tag("[dataset]")]],  # noqa: UP007
    Discriminator(lambda value: "[name]" if isinstance(value, str) else "[dataset]"),
]


class EvalSpec(StrictModel):
    """What `factory eval-config` turns into lm-eval task files and a command."""

    name: str = Field(
        description="Name of the suite: the lm-eval group written for it and the output folder."
    )
    model: str = Field(description="Hugging Face model id (or local folder) to evaluate.")
    model_revision: str = Field(description="Commit sha (or tag) of the model.")
    model_args: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Other `--model_args` for lm-eval's hf model, e.g. {dtype: bfloat16}.",
    )
    tasks: list[SuiteTask] = Field(
        min_length=1,
        description="lm-eval task names (e.g. xcopa_eu, basque_bench) and/or dataset tasks.",
    )
    num_fewshot: int | None = Field(
        None, ge=0, description="Few-shot examples for every task (lm-eval --num_fewshot)."
    )
    fewshot: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Per task name: few-shot examples instead of num_fewshot (e.g. {bbq: 4}); "
        "lm-eval runs once per distinct count.",
    )
    apply_chat_template: bool = Field(
        False,
        description="lm-eval --apply_chat_template: prompts go through the model's chat template.",
    )
    fewshot_as_multiturn: bool = Field(
        False,
        description="lm-eval --fewshot_as_multiturn: few-shot examples as chat turns (needs apply_chat_template).",
    )
    log_samples: bool = Field(
        False, description="lm-eval --log_samples: keep every prompt and answer."
    )
    device: str | None = Field(
        None, description="lm-eval --device (e.g. cuda, cpu); default: lm-eval's."
    )
    batch_size: str = Field("auto", description="lm-eval --batch_size.")
    seed: int = Field(
        1234, description="lm-eval --seed (python, numpy, torch and few-shot sampling)."
    )
    output_path: str = Field(
        "results", description="lm-eval --output_path: where results JSON files go."
    )
    limit: int | None = Field(
        None, ge=1, description="lm-eval --limit: rows per task (for smoke tests only)."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _task_name(value)

    @field_validator("model_revision", mode="before")
    @classmethod
    def _model_pinned(cls, value: Any) -> str:
        return pinned_model_revision(value, "model_revision")

    @field_validator("tasks")
    @classmethod
    def _task_names(cls, tasks: list[str | DatasetTask]) -> list[str | DatasetTask]:
        for task in tasks:
            if isinstance(task, str):  # a DatasetTask checked its own name
                _task_name(task)
        names = suite_task_names(tasks)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"task names must be unique (repeated: {', '.join(duplicates)})")
        return tasks

    @model_validator(mode="after")
    def _fewshot_options(self) -> EvalSpec:
        unknown = sorted(set(self.fewshot) - set(suite_task_names(self.tasks)))
        if unknown:
            raise ValueError(f"fewshot names tasks the suite does not list: {', '.join(unknown)}")
        if self.fewshot_as_multiturn and not self.apply_chat_template:
            raise ValueError(
                "fewshot_as_multiturn needs apply_chat_template: true (lm-eval refuses it otherwise)"
            )
        return self

    def fewshot_for(self, task: str | DatasetTask) -> int | None:
        """The few-shot count of one task: `fewshot`, else the dataset task's own, else num_fewshot."""
        name = task if isinstance(task, str) else task.task
        if name in self.fewshot:
            return self.fewshot[name]
        if isinstance(task, DatasetTask) and task.num_fewshot is not None:
            return task.num_fewshot
        return self.num_fewshot

    @model_validator(mode="after")
    def _suite_name_free(self) -> EvalSpec:
        if self.name in suite_task_names(self.tasks):
            raise ValueError(
                f"the suite name {self.name!r} is also a task name: rename one (lm-eval needs them distinct)"
            )
        return self

    @field_validator("model_args")
    @classmethod
    def _no_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(RESERVED_MODEL_ARGS & set(value))
        if clash:
            raise ValueError(
                f"{', '.join(clash)} cannot be set here: the model and its revision come from model and "
                "model_revision, and a token is read from HF_TOKEN, never written down"
            )
        for key, arg in value.items():
            if any(c in str(arg) for c in ",= "):
                raise ValueError(
                    f"model_args.{key}: {arg!r} may not contain ',', '=' or spaces (lm-eval splits on them)"
                )
        return value
