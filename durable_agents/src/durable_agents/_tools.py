"""Tools: plain typed Python functions that an agent's model may call.

``@tool`` reads the function's signature into a JSON-schema tool spec. A tool runs as its own durable
step (an activity), so a finished tool call is never repeated after a crash. ``long_running=True``
gives it its own retry policy and timeout; ``requires_approval=True`` makes the run wait for a
person's decision before it runs.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from ._errors import AgentError

_SCALARS: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _schema(annotation: Any) -> dict[str, Any]:
    """JSON schema for one annotation; ``Annotated[T, "text"]`` adds a description."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is typing.Annotated:
        schema = _schema(args[0])
        texts = [a for a in args[1:] if isinstance(a, str)]
        if texts:
            schema["description"] = texts[0]
        return schema
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if origin is Literal:
        return {"type": _SCALARS[type(args[0])], "enum": list(args)}
    if origin in (list, tuple, set, frozenset):
        return {"type": "array", "items": _schema(args[0]) if args else {}}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _schema(options[0])
    raise TypeError(f"tool parameters must be JSON types (str, int, float, bool, list, dict, Literal); "
                    f"got {annotation!r}")


@dataclass(frozen=True)
class Tool:
    """A callable tool with its JSON-schema parameters."""

    name: str
    description: str
    fn: Callable[..., Any]
    parameters: dict[str, Any]
    long_running: bool = False
    requires_approval: bool = False
    timeout_seconds: float = 60.0
    max_attempts: int = 1
    idempotent: bool = True
    required: tuple[str, ...] = field(default=())

    def spec(self) -> dict[str, Any]:
        """The Chat Completions ``tools`` entry for this tool."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "long_running": self.long_running,
                "requires_approval": self.requires_approval, "idempotent": self.idempotent}

    def check_arguments(self, arguments: Any) -> dict[str, Any]:
        """The model's arguments, checked against the schema; an AgentError says what is wrong."""
        if not isinstance(arguments, dict):
            raise AgentError("InvalidToolArguments", f"{self.name} takes a JSON object of arguments")
        props = self.parameters["properties"]
        missing = [name for name in self.required if name not in arguments]
        unknown = [name for name in arguments if name not in props]
        if missing or unknown:
            raise AgentError("InvalidToolArguments",
                             f"{self.name}: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}")
        for name, value in arguments.items():
            expected = props[name].get("type")
            if not _matches(expected, value):
                raise AgentError("InvalidToolArguments", f"{self.name}: {name} must be {expected}")
            if "enum" in props[name] and value not in props[name]["enum"]:
                raise AgentError("InvalidToolArguments", f"{self.name}: {name} must be one of {props[name]['enum']}")
        return arguments

    def run(self, arguments: dict[str, Any]) -> Any:
        return self.fn(**self.check_arguments(arguments))


def _matches(expected: str | None, value: Any) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    return expected is None or checks[expected](value)


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    long_running: bool = False,
    requires_approval: bool = False,
    timeout_seconds: float = 60.0,
    max_attempts: int | None = None,
    idempotent: bool = True,
) -> Any:
    """Turn a typed function into a ``Tool``; its docstring's first paragraph describes it.

    Each call is a durable step: its result is journaled, and a call that runs again after a crash returns the
    journaled result. ``idempotent=False`` marks a tool that must not run twice (it sends, pays, deletes): a call
    interrupted by a crash before its result was journaled is then not run again, and the model is told so.
    """
    if not idempotent and (max_attempts or 1) > 1:
        raise TypeError("a tool with idempotent=False runs at most once, so it cannot have max_attempts > 1")

    def build(target: Callable[..., Any]) -> Tool:
        hints = typing.get_type_hints(target, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in inspect.signature(target).parameters.values():
            if param.name not in hints:
                raise TypeError(f"tool {target.__name__}: parameter {param.name} needs a type annotation")
            properties[param.name] = _schema(hints[param.name])
            if param.default is inspect.Parameter.empty:
                required.append(param.name)
        doc = inspect.getdoc(target) or target.__name__.replace("_", " ")
        return Tool(
            name=name or target.__name__,
            description=doc.split("\n\n")[0].replace("\n", " "),
            fn=target,
            parameters={"type": "object", "properties": properties, "required": required,
                        "additionalProperties": False},
            long_running=long_running,
            requires_approval=requires_approval,
            timeout_seconds=timeout_seconds,
            max_attempts=max_attempts or (3 if long_running and idempotent else 1),
            idempotent=idempotent,
            required=tuple(required),
        )

    return build(fn) if fn is not None else build
