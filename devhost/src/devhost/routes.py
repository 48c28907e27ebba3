"""HTTP trigger route templates: ``{x}``, ``{x:int}``, ``{x?}``, ``{*rest}`` and a route prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?\}")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "float": r"-?\d+(?:\.\d+)?",
    "double": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
}


class RouteError(ValueError):
    """A route template devhost cannot understand."""


@dataclass(frozen=True)
class Route:
    """A compiled route template; ``match`` gives the route parameters or None."""

    template: str
    path: str
    pattern: re.Pattern[str]
    literal_chars: int

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if not found:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


def compile_route(prefix: str, template: str) -> Route:
    """Compile ``prefix/template`` (case-insensitive, as the Functions host matches routes)."""
    full = "/".join(part.strip("/") for part in (prefix, template) if part.strip("/"))
    out = ["/"]
    pos = 0
    for found in _PARAM.finditer(full):
        literal = full[pos : found.start()]
        out.append(re.escape(literal))
        catch_all, name, constraint, optional = found.groups()
        if catch_all:
            body = r".*"
        elif constraint:
            if constraint.lower() not in _CONSTRAINTS:
                raise RouteError(f"route {template!r}: unknown constraint {constraint!r}")
            body = _CONSTRAINTS[constraint.lower()]
        else:
            body = r"[^/]+"
        group = f"(?P<{name}>{body})"
        if optional or catch_all:
            # An optional last segment may be absent together with the slash before it.
            if out[-1].endswith("/"):
                out[-1] = out[-1][:-1]
                group = f"(?:/{group})?"
            else:
                group += "?"
        out.append(group)
        pos = found.end()
    out.append(re.escape(full[pos:]))
    literal_chars = len(_PARAM.sub("", full))
    try:
        pattern = re.compile("".join(out), re.IGNORECASE)
    except re.error as exc:
        raise RouteError(f"route {template!r} is invalid: {exc}") from exc
    return Route(template=template, path="/" + full, pattern=pattern, literal_chars=literal_chars)


def most_specific_first(routes: list[tuple[Route, Any]]) -> list[tuple[Route, Any]]:
    """Literal-heavy routes win over parameterised ones, as in ASP.NET routing."""
    return sorted(routes, key=lambda item: -item[0].literal_chars)
