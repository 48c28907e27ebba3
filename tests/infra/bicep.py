"""Reading Bicep offline: parse with tree-sitter-bicep, report broken nodes, and turn declarations into values.

No Bicep compiler is reachable here, so the checks work on the parse tree: literals become Python values, function
calls become ``Call`` (their name and arguments as values too) and any other expression becomes an ``Expr`` holding
its source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser


@cache
def parser() -> Parser:
    return Parser(Language(tree_sitter_bicep.language()))


def broken_nodes(source: bytes) -> list[str]:
    """``line:column kind`` of every ERROR or MISSING node (1-based lines and columns)."""
    found: list[str] = []
    stack = [parser().parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            kind = "ERROR" if node.is_error else f"MISSING {node.type}"
            found.append(f"{node.start_point.row + 1}:{node.start_point.column + 1} {kind}")
        stack.extend(node.children)
    return sorted(found, key=lambda text: tuple(int(n) for n in text.split()[0].split(":")))


@dataclass(frozen=True)
class Expr:
    """An expression that is not a literal, kept as its source text."""

    text: str


@dataclass(frozen=True)
class Call(Expr):
    """A call of a plain function name, e.g. ``union(a, {...})``: its text, the name and the arguments as values."""

    name: str = ""
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str  # without the API version
    api_version: str
    body: dict[str, Any]
    looped: bool  # declared with [for ... in ...]
    file: str
    condition: str | None = None  # the text inside `if (...)`, when the resource is conditional
    loop: str | None = None  # the text of what `for ... in` walks, when looped


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any  # None when the parameter has none
    decorators: dict[str, tuple[Any, ...]]  # e.g. {"allowed": (["a", "b"],), "minValue": (1,)}


@dataclass(frozen=True)
class BicepFile:
    path: Path
    resources: list[Resource]
    variables: dict[str, Any]
    modules: dict[str, dict[str, Any]]  # symbol -> body (with "path", and "condition" when conditional)
    params: dict[str, Param] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def _text(node: Node) -> str:
    return node.text.decode()


def value(node: Node) -> Any:
    """A literal as a Python value; a call as ``Call``; anything else as ``Expr``."""
    kind = node.type
    if kind == "object":
        result = {}
        for prop in (c for c in node.named_children if c.type == "object_property"):
            key_node, value_node = prop.named_children[0], prop.named_children[-1]
            key = value(key_node) if key_node.type == "string" else _text(key_node)
            result[key if isinstance(key, str) else key.text] = value(value_node)
        return result
    if kind == "array":
        return [value(c) for c in node.named_children if c.type != "comment"]
    if kind == "string":
        parts = node.named_children
        if all(p.type == "string_content" for p in parts):
            return "".join(_text(p) for p in parts)
        return Expr(_text(node))
    if kind == "boolean":
        return _text(node) == "true"
    if kind == "number":
        return int(_text(node))
    if kind == "call_expression" and node.named_children[0].type == "identifier":
        arguments = next(c for c in node.named_children if c.type == "arguments")
        args = tuple(value(c) for c in arguments.named_children if c.type != "comment")
        return Call(_text(node), _text(node.named_children[0]), args)
    return Expr(_text(node))


def _unwrap(body_node: Node) -> tuple[Node, str | None, str | None]:
    """The object inside ``[for x in xs: if (c) {...}]``, the loop's collection (``xs``) and the condition (``c``)."""
    loop = condition = None
    while body_node.type in ("for_statement", "if_statement"):
        if body_node.type == "for_statement":
            tokens = body_node.children
            loop = _text(next(tokens[i + 1] for i, t in enumerate(tokens) if t.type == "in"))
        else:
            test = next(c for c in body_node.named_children if c.type == "parenthesized_expression")
            condition = _text(test)[1:-1].strip()
        body_node = next(c for c in reversed(body_node.named_children) if c.type == "object")
    return body_node, loop, condition


def _resource(node: Node, file: str) -> Resource:
    symbol = _text(node.named_children[0])
    type_and_version = value(next(c for c in node.named_children if c.type == "string"))
    type_name, _, api_version = type_and_version.partition("@")
    body_node, loop, condition = _unwrap(node.named_children[-1])
    return Resource(symbol, type_name, api_version, value(body_node), loop is not None, file, condition, loop)


def _decorators(node: Node) -> dict[str, tuple[Any, ...]]:
    found = {}
    for decorator in (c for c in node.named_children if c.type == "decorator"):
        call = value(decorator.named_children[-1])
        if isinstance(call, Call):
            found[call.name] = call.args
    return found


def _param(node: Node, decorators: dict[str, tuple[Any, ...]]) -> Param:
    name = _text(node.named_children[0])
    type_node = node.named_children[1]
    default = value(node.named_children[2]) if len(node.named_children) > 2 else None
    return Param(name, _text(type_node), default, decorators)


def resolve(file: BicepFile, item: Any) -> Any:
    """``item`` with variable names replaced by the variables' values and ``union(...)`` of objects merged."""
    if isinstance(item, Call) and item.name == "union":
        merged: dict[str, Any] = {}
        for arg in item.args:
            part = resolve(file, arg)
            assert isinstance(part, dict), f"union of something other than objects: {item.text}"
            merged |= part
        return merged
    if isinstance(item, Expr) and not isinstance(item, Call) and item.text in file.variables:
        return resolve(file, file.variables[item.text])
    return item


def read(path: Path) -> BicepFile:
    root = parser().parse(path.read_bytes()).root_node
    resources, variables, modules, params, outputs = [], {}, {}, {}, {}
    decorators: dict[str, tuple[Any, ...]] = {}
    for node in root.named_children:
        if node.type == "decorators":
            # Decorators are the declaration's preceding sibling: keep them for the declaration that follows.
            decorators = _decorators(node)
            continue
        if node.type == "resource_declaration" and "existing" not in (c.type for c in node.children):
            resources.append(_resource(node, path.name))
        elif node.type == "variable_declaration":
            variables[_text(node.named_children[0])] = value(node.named_children[-1])
        elif node.type == "parameter_declaration":
            param = _param(node, decorators)
            params[param.name] = param
        elif node.type == "output_declaration":
            outputs[_text(node.named_children[0])] = value(node.named_children[-1])
        elif node.type == "module_declaration":
            body_node, _, condition = _unwrap(node.named_children[-1])
            body = value(body_node)
            body["path"] = value(node.named_children[1])
            if condition is not None:
                body["condition"] = condition
            modules[_text(node.named_children[0])] = body
        if node.type != "comment":
            decorators = {}
    return BicepFile(path, resources, variables, modules, params, outputs)
