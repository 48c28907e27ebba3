"""Resource URIs and URI templates (``file://docs/{name}``), validated and matched as the extension does.

A template parameter matches up to the next ``/``, ``?`` or ``#`` (up to ``&`` or ``#`` right after ``?`` or
``&``); matching is case-insensitive and whole-URI.
"""

from __future__ import annotations

import re

from .schemas import TriggerError

_EXPRESSION = re.compile(r"\{[^{}]+\}")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def is_template(uri: str) -> bool:
    return bool(_EXPRESSION.search(uri))


def shape(template: str) -> str:
    """The template with every parameter alike, to find two templates that would match the same URIs."""
    return _EXPRESSION.sub("{_}", template).lower()


def validate(uri: str) -> None:
    """Raise TriggerError for what the extension refuses as a resource URI or template."""
    if not uri or not uri.strip():
        raise TriggerError("a resource URI cannot be empty")
    if is_template(uri):
        if uri.count("{") != uri.count("}"):
            raise TriggerError(f"resource URI template {uri!r} has unbalanced braces")
        found = list(_EXPRESSION.finditer(uri))
        if any(a.end() == b.start() for a, b in zip(found, found[1:], strict=False)):
            raise TriggerError(f"resource URI template {uri!r}: expressions must be separated by a literal character")
        names = [m.group()[1:-1] for m in found]
        sanitized = [_NOT_NAME.sub("_", name).lower() for name in names]
        if len(set(sanitized)) != len(sanitized):
            raise TriggerError(f"resource URI template {uri!r} has duplicate or colliding parameter names")
        for name in names:
            if not name.strip() or any(c in name for c in "/#?& ") or "%7b" in name.lower() or "%7d" in name.lower():
                raise TriggerError(f"resource URI template {uri!r}: parameter {name!r} is invalid")
    elif "{" in uri or "}" in uri:
        raise TriggerError(f"resource URI {uri!r} has malformed template syntax (unmatched or empty braces)")
    if not _ABSOLUTE.fullmatch(_EXPRESSION.sub("template", uri)):
        raise TriggerError(f"invalid resource URI format: {uri!r} (it must be absolute, with a scheme)")


def compile_template(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for found in _EXPRESSION.finditer(template):
        out.append(re.escape(template[pos:found.start()]))
        previous = template[found.start() - 1] if found.start() else ""
        out.append("[^&#]+" if previous in ("?", "&") else "[^/?#]+")
        pos = found.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.IGNORECASE)
