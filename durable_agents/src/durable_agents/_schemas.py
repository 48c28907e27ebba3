"""Checking a value against what a workflow declares: a pydantic model, a JSON schema, or anything (None)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pydantic

from ._errors import AgentError

Check = Callable[[Any], Any]


def checker(declared: Any, what: str) -> Check:
    """A function that returns the value to use (a model's JSON form) or raises AgentError 400 ``Invalid...``."""
    if declared is None:
        return lambda value: value
    if isinstance(declared, type) and issubclass(declared, pydantic.BaseModel):
        def check_model(value: Any) -> Any:
            try:
                return declared.model_validate(value).model_dump(mode="json")
            except pydantic.ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}" for e in exc.errors())
                raise AgentError("InvalidInput", f"{what}: {problems}") from None
        return check_model
    if isinstance(declared, dict):
        jsonschema.Draft202012Validator.check_schema(declared)
        validator = jsonschema.Draft202012Validator(declared)

        def check_schema(value: Any) -> Any:
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
            if error is not None:
                where = "/".join(map(str, error.absolute_path)) or "(body)"
                raise AgentError("InvalidInput", f"{what}: {where}: {error.message}")
            return value
        return check_schema
    raise TypeError(f"{what} must be a pydantic model class, a JSON schema (dict) or None, got {declared!r}")
