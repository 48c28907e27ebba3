"""Reading Bicep offline: parse with tree-sitter-bicep, report broken nodes, and turn declarations into values.

No Bicep compiler is reachable here, so the checks work on the parse tree: literals become Python values and any
other expression becomes an ``Expr`` holding its source text.
"""

from __future__ import annotations

from dataclasses import dataclass
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
class Resource:
    symbol: str
    type: str  # without the API version
    api_version: str
    body: dict[str, Any]
    looped: bool  # declared with [for ... in ...]
    file: str


@dataclass(frozen=True)
class BicepFile:
    path: Path
    resources: list[Resource]
    variables: dict[str, Any]
    modules: dict[str, dict[str, Any]]  # symbol -> body (with "path")


def _text(node: Node) -> str:
    return node.text.decode()


def value(node: Node) -> Any:
    """A literal as a Python value; anything else as ``Expr``."""
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
    return Expr(_text(node))


def _resource(node: Node, file: str) -> Resource:
    symbol = _text(node.named_children[0])
    type_and_version = value(next(c for c in node.named_children if c.type == "string"))
    type_name, _, api_version = type_and_version.partition("@")
    body_node = node.named_children[-1]
    looped = body_node.type == "for_statement"
    while body_node.type in ("for_statement", "if_statement"):
        body_node = next(c for c in reversed(body_node.named_children) if c.type == "object")
    return Resource(symbol, type_name, api_version, value(body_node), looped, file)


def read(path: Path) -> BicepFile:
    root = parser().parse(path.read_bytes()).root_node
    resources, variables, modules = [], {}, {}
    for node in root.named_children:
        if node.type == "resource_declaration" and "existing" not in (c.type for c in node.children):
            resources.append(_resource(node, path.name))
        elif node.type == "variable_declaration":
            variables[_text(node.named_children[0])] = value(node.named_children[-1])
        elif node.type == "module_declaration":
            body = value(node.named_children[-1])
            body["path"] = value(node.named_children[1])
            modules[_text(node.named_children[0])] = body
    return BicepFile(path, resources, variables, modules)
