"""Functions route templates (``{x}``, ``{x:int}``, ``{x?}``, ``{*rest}``) matched as the Functions host matches
them: case-insensitively, below a route prefix, literal-heavy routes first."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?\}")
_CONSTRAINTS = {"int": r"-?\d+", "long": r"-?\d+", "alpha": r"[A-Za-z]+", "bool": r"(?i:true|false)"}


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    literal_chars: int

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}


def compile_route(prefix: str, template: str) -> Route:
    """``prefix/template`` as a pattern over request paths; a template it cannot read is a ValueError."""
    full = "/".join(part.strip("/") for part in (prefix, template) if part.strip("/"))
    out, pos = ["/"], 0
    for found in _PARAM.finditer(full):
        out.append(re.escape(full[pos:found.start()]))
        catch_all, name, constraint, optional = found.groups()
        if constraint and constraint.lower() not in _CONSTRAINTS:
            raise ValueError(f"route {template!r}: the constraint {constraint!r} is not supported by the worker")
        body = ".*" if catch_all else _CONSTRAINTS[constraint.lower()] if constraint else "[^/]+"
        group = f"(?P<{name}>{body})"
        if (optional or catch_all) and out[-1].endswith("/"):  # an absent last segment takes its slash with it
            out[-1], group = out[-1][:-1], f"(?:/{group})?"
        elif optional or catch_all:
            group += "?"
        out.append(group)
        pos = found.end()
    out.append(re.escape(full[pos:]))
    return Route(template, re.compile("".join(out), re.IGNORECASE), len(_PARAM.sub("", full)))
