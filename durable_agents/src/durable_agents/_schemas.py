"""Checking a value against what a workflow declares: a pydantic model, a JSON schema, or anything (None)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import pydantic

from ._errors import AgentError


@dataclass(frozen=True)
class Check:
    """Returns the value to use (a model's JSON form) or raises AgentError 400 ``InvalidInput``; it keeps what it
    checks against, so the OpenAPI document can show it."""

    declared: Any
    check: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.check(value)

    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema (draft 2020-12) of what passes; None when anything does or a model cannot tell."""
        if isinstance(self.declared, dict):
            return self.declared
        if self.declared is None:
            return None
        try:
            return self.declared.model_json_schema()
        except pydantic.PydanticUserError:  # a model with a field type that has no JSON schema still checks
            return None


def checker(declared: Any, what: str) -> Check:
    """The check of a value against ``declared`` (``what`` names the value in its errors)."""
    if declared is None:
        return Check(None, lambda value: value)
    if isinstance(declared, type) and issubclass(declared, pydantic.BaseModel):
        def check_model(value: Any) -> Any:
            try:
                return declared.model_validate(value).model_dump(mode="json")
            except pydantic.ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}" for e in exc.errors())
                raise AgentError("InvalidInput", f"{what}: {problems}") from None
        return Check(declared, check_model)
    if isinstance(declared, dict):
        jsonschema.Draft202012Validator.check_schema(declared)
        validator = jsonschema.Draft202012Validator(declared)

        def check_schema(value: Any) -> Any:
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
            if error is not None:
                where = "/".join(map(str, error.absolute_path)) or "(body)"
                raise AgentError("InvalidInput", f"{what}: {where}: {error.message}")
            return value
        return Check(declared, check_schema)
    raise TypeError(f"{what} must be a pydantic model class, a JSON schema (dict) or None, got {declared!r}")
