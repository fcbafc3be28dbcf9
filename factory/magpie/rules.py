"""Declarative row rules (column, operator, value) and the filter that applies them in order.

Magpie's Filtered sets come from `high_quality_filter` in magpie's `data_sft/data_filter.ipynb`:
input quality good or excellent, `instruct_reward > -10`, the instruction does not end with `:`,
and the row is the first of its near-duplicate group (`min_similar_conversation_id` is None or
the row's own id). `MAGPIE_RULES` states the same as rules over `magpie_tags` columns.

`instruction` and `response` are virtual columns: the first user and assistant turns.
A null value fails every operator except `is_null` and `null_or_equals_column`.
"""

from __future__ import annotations

from typing import Any, Literal

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field, model_validator

from factory.recipe_base import StrictModel

Operator = Literal[
    "in",
    "not_in",
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "endswith",
    "not_endswith",
    "is_null",
    "not_null",
    "null_or_equals_column",
]
VIRTUAL_COLUMNS = ("instruction", "response")


class Rule(StrictModel):
    """Keep rows where `column op value` holds."""

    column: str = Field(
        ..., min_length=1, description="Column the rule reads (or `instruction`/`response`)."
    )
    op: Operator = Field(..., description="Comparison operator.")
    value: Any = Field(
        None,
        description="Right-hand side: a list for in/not_in, a string for endswith, a column name for null_or_equals_column; unused by is_null/not_null.",
    )

    @model_validator(mode="after")
    def _value_fits(self) -> Rule:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"rule on {self.column!r}: op {self.op} needs a list value")
        if self.op in ("endswith", "not_endswith", "null_or_equals_column") and not isinstance(
            self.value, str
        ):
            raise ValueError(f"rule on {self.column!r}: op {self.op} needs a string value")
        if self.op in (">", ">=", "<", "<=") and not isinstance(self.value, (int, float)):
            raise ValueError(f"rule on {self.column!r}: op {self.op} needs a number")
        return self

    def label(self) -> str:
        if self.op in ("is_null", "not_null"):
            return f"{self.column} {self.op}"
        return f"{self.column} {self.op} {self.value!r}"

    def columns(self) -> set[str]:
        extra = {self.value} if self.op == "null_or_equals_column" else set()
        return {self.column, *extra} - set(VIRTUAL_COLUMNS)

    def holds(self, row: dict) -> bool:
        value = column_value(row, self.column)
        op = self.op
        if op == "is_null":
            return value is None
        if op == "null_or_equals_column":
            return value is None or value == column_value(row, self.value)
        if value is None:
            return False
        if op == "not_null":
            return True
        if op == "in":
            return value in self.value
        if op == "not_in":
            return value not in self.value
        if op == "==":
            return value == self.value
        if op == "!=":
            return value != self.value
        if op in ("endswith", "not_endswith"):
            ends = str(value).endswith(self.value)
            return ends if op == "endswith" else not ends
        try:
            return {
                ">": value > self.value,
                ">=": value >= self.value,
                "<": value < self.value,
                "<=": value <= self.value,
            }[op]
        except TypeError:
            return False  # a non-number in a numeric column fails the rule


def column_value(row: dict, column: str):
    if column in VIRTUAL_COLUMNS and column not in row:
        from factory.magpie.tag_steps import first_turns

        instruction, response = first_turns(row)
        return instruction if column == "instruction" else response
    return row.get(column)


MAGPIE_RULES: list[dict] = [
    {"column": "input_quality", "op": "in", "value": ["good", "excellent"]},
    {"column": "instruct_reward", "op": ">", "value": -10},
    {"column": "instruction", "op": "not_endswith", "value": ":"},
    {"column": "min_similar_id", "op": "null_or_equals_column", "value": "id"},
]


def rule_reason(index: int, rule: Rule) -> str:
    return f"magpie_rule_{index + 1}_{rule.column}"


class RulesFilter(BaseFilter):
    """Applies the rules in order; a row is dropped by the first rule it fails.

    Drops (reasons): `magpie_rule_<n>_<column>` (n counts from 1). Also counts, per rule, every
    row that fails it whatever the earlier rules said (`fails_rule_<n>`).
    """

    name = "⚖️ Magpie rules"

    def __init__(self, rules: list[Rule], exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self.rules = rules

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        row = doc.metadata["row"]
        first_failed = None
        for i, rule in enumerate(self.rules):
            if not rule.holds(row):
                self.stat_update(f"fails_rule_{i + 1}")
                if first_failed is None:
                    first_failed = i
        if first_failed is None:
            return True
        return False, rule_reason(first_failed, self.rules[first_failed])
