"""Loading the app's function_app.py and sorting its functions by trigger."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

# Served by the MCP extension's webhook (devhost.mcp), not as functions of their own.
MCP_TRIGGERS = frozenset({"mcpToolTrigger", "mcpResourceTrigger", "mcpPromptTrigger"})


class AppLoadError(Exception):
    """function_app.py cannot be imported or holds no app."""


@dataclass
class Function:
    """One function of the app: its trigger and its bindings, as plain data."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    @property
    def trigger_arg(self) -> str:
        return self.trigger["name"]

    @property
    def client_args(self) -> list[str]:
        """Names of the durable client bindings the function takes."""
        return [b["name"] for b in self.bindings if b.get("type") == "durableClient"]

    def durable_name(self) -> str:
        """The name orchestrations use to reach this function."""
        for key in ("orchestration", "activity", "entityName"):
            if self.trigger.get(key):
                return str(self.trigger[key])
        return self.name


@dataclass
class FunctionIndex:
    """The app's functions by kind; durable names are matched case-insensitively."""

    functions: list[Function]
    http: list[Function] = field(default_factory=list)
    timers: list[Function] = field(default_factory=list)
    orchestrators: dict[str, Function] = field(default_factory=dict)
    activities: dict[str, Function] = field(default_factory=dict)
    entities: dict[str, Function] = field(default_factory=dict)
    mcp: list[Function] = field(default_factory=list)
    unsupported: list[Function] = field(default_factory=list)
    app_dir: Path | None = None

    def __post_init__(self) -> None:
        kinds = {
            "orchestrationTrigger": self.orchestrators,
            "activityTrigger": self.activities,
            "entityTrigger": self.entities,
        }
        for function in self.functions:
            if function.trigger_type == "httpTrigger":
                self.http.append(function)
            elif function.trigger_type == "timerTrigger":
                self.timers.append(function)
            elif function.trigger_type in kinds:
                kinds[function.trigger_type][function.durable_name().lower()] = function
            elif function.trigger_type in MCP_TRIGGERS:
                self.mcp.append(function)
            else:
                self.unsupported.append(function)


def _plain(value: Any) -> Any:
    """Binding dicts hold enums; keep their values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


def _find_app(module: Any) -> func.FunctionRegister:
    for value in vars(module).values():
        if isinstance(value, func.FunctionRegister):
            return value
    raise AppLoadError(
        "function_app.py defines no app: create one at module level, "
        "e.g. `app = func.FunctionApp()` or `app = df.DFApp()`"
    )


def load_app(app_dir: Path) -> FunctionIndex:
    """Import ``app_dir/function_app.py`` as the Python worker does and index its functions."""
    path = app_dir / "function_app.py"
    if not path.exists():
        raise AppLoadError(f"no function_app.py in {app_dir.resolve()}")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AppLoadError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    app = _find_app(module)
    try:
        built = app.get_functions()
    except Exception as exc:
        raise AppLoadError(f"the app's functions are invalid: {exc}") from exc
    functions = []
    for item in built:
        trigger = item.get_trigger()
        functions.append(
            Function(
                name=item.get_function_name(),
                trigger_type=trigger.get_binding_name(),
                trigger=_plain(trigger.get_dict_repr()),
                bindings=[_plain(b.get_dict_repr()) for b in item.get_bindings()],
                user_function=item.get_user_function(),
            )
        )
    return FunctionIndex(functions, app_dir=app_dir)
