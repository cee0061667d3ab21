"""The building blocks of every parameter: ``param`` (default, unit, source), strict models
and mixes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


def param(default: Any, unit: str, source: str, **constraints: Any) -> Any:
    """A parameter field: default, unit and source note (and numeric bounds)."""
    return Field(default, json_schema_extra={"unit": unit, "source": source}, **constraints)


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, assignment is validated."""

    # validators are built when a scenario is first validated, all sections in one go,
    # not one class at a time on import (about 50 ms less before a run's first quarter)
    # strict: a string where a number or switch belongs ("20000", "no") and a number for
    # a switch (1) are refused, not converted; nan and inf are refused in every float
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True,
                              strict=True, allow_inf_nan=False)


class Mix(Strict):
    """A set of shares that must sum to one."""

    @model_validator(mode="after")
    def _sums_to_one(self) -> "Mix":
        total = sum(getattr(self, name) for name in type(self).model_fields)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, they sum to {total:.6g}")
        return self


SHARE = {"ge": 0.0, "le": 1.0}
FIRST_YEAR, LAST_YEAR = 1900, 2999  # run years; quarter indices then fit int16
POS = {"ge": 0.0}


def _by_size(cls_name: str, unit: str, source: str, values: tuple, bounds: dict, mix: bool = False):
    base = Mix if mix else Strict
    fields = {
        name: (float, param(v, unit, source, **bounds))
        for name, v in zip(("individual", "micro", "small"), values)
    }
    return type(cls_name, (base,), {"__annotations__": {k: float for k in fields},
                                   **{k: f for k, (_, f) in fields.items()}})


