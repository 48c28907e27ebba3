"""The functions a Functions app registers, as plain callables with their durable names and bindings.

Read from the app's own ``Function`` objects, so a worker hosts exactly what ``AgentFunctionApp`` registers. The
decorators of azure-functions-durable keep the user's function beside their wrappers: ``orchestrator_function``
(orchestrators), ``entity_function`` (entities) and ``client_function`` (functions with a durable client binding).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from starlette.requests import Request


@dataclass(frozen=True)
class Activity:
    name: str
    fn: Callable[..., Any]
    input_arg: str
    client_arg: str | None


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function: its route template (no prefix), methods and argument names."""

    name: str
    fn: Callable[..., Any]
    route: str
    methods: tuple[str, ...]
    request_arg: str
    client_arg: str | None
    wants_asgi_request: bool


@dataclass
class AppFunctions:
    orchestrators: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    activities: list[Activity] = field(default_factory=list)
    entities: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    routes: list[HttpFunction] = field(default_factory=list)
    unserved: dict[str, str] = field(default_factory=dict)  # name: trigger type, of what a worker does not run


def _takes_asgi_request(fn: Callable[..., Any], arg: str) -> bool:
    """Functions typed with azurefunctions-extensions-http-fastapi take a starlette Request."""
    try:
        annotation = typing.get_type_hints(inspect.unwrap(fn)).get(arg)
    except Exception:  # an annotation that does not resolve is not a Request
        return False
    return inspect.isclass(annotation) and issubclass(annotation, Request)


def discover(app: func.FunctionRegister) -> AppFunctions:
    """Every function of ``app`` by kind; call once per app (``get_functions`` builds them)."""
    found = AppFunctions()
    for function in app.get_functions():
        trigger = function.get_trigger()
        kind, spec = trigger.get_binding_name(), trigger.get_dict_repr()
        name = function.get_function_name()
        user = function.get_user_function()
        client_arg = next((b.name for b in function.get_bindings() if b.get_binding_name() == "durableClient"), None)
        plain = getattr(user, "client_function", user)
        if kind == "orchestrationTrigger":
            found.orchestrators[spec.get("orchestration") or name] = user.orchestrator_function
        elif kind == "entityTrigger":
            found.entities[spec.get("entityName") or name] = user.entity_function
        elif kind == "activityTrigger":
            found.activities.append(Activity(spec.get("activity") or name, plain, trigger.name, client_arg))
        elif kind == "httpTrigger":
            methods = tuple(str(getattr(m, "value", m)).upper() for m in spec.get("methods") or ()) or (
                "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
            found.routes.append(HttpFunction(name, plain, spec.get("route") or name, methods, trigger.name,
                                             client_arg, _takes_asgi_request(plain, trigger.name)))
        else:
            found.unserved[name] = kind
    return found
