"""The walls between the parts: the apps import only the library's public names, the library and devhost neither
each other nor any app."""

from __future__ import annotations

import ast
from pathlib import Path

import durable_agents

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "durable_agents" / "src"
DEVHOST = REPO / "devhost" / "src"
APPS = [REPO / "function_app.py", REPO / "agent_app", REPO / "examples"]


def imports(*roots: Path) -> set[tuple[str, str, str]]:
    """(file, module, name) of every import under ``roots`` (name empty for ``import module``)."""
    found = set()
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found |= {(str(path.relative_to(REPO)), alias.name, "") for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found |= {(str(path.relative_to(REPO)), node.module, alias.name) for alias in node.names}
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_library_imports_no_app_and_not_devhost() -> None:
    assert not {i for i in imports(LIBRARY) if top(i[1]) in {"devhost", "agent_app", "function_app", "examples"}}


def test_devhost_imports_neither_the_library_nor_an_app() -> None:
    assert not {i for i in imports(DEVHOST) if top(i[1]) in {"durable_agents", "agent_app", "function_app",
                                                            "examples"}}


def test_the_apps_use_only_the_librarys_public_names_and_never_devhost() -> None:
    found = imports(*APPS)
    assert not {i for i in found if top(i[1]) == "devhost"}
    private = {i for i in found if top(i[1]) == "durable_agents"
               and (i[1] != "durable_agents" or (i[2] and i[2] not in durable_agents.__all__))}
    assert not private


def test_the_public_surface_is_the_list_in_init() -> None:
    assert sorted(durable_agents.__all__) == sorted(
        ["Agent", "AgentClient", "AgentError", "AgentFunctionApp", "AgentWorker", "McpServer", "ModelOptions",
         "RemoteAgent", "Tool", "run", "tool", "workflow"])
    assert all(getattr(durable_agents, name).__doc__ for name in durable_agents.__all__)


def test_azure_installs_the_library_from_the_deployment_package() -> None:
    lines = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["./durable_agents"]
    ignored = {line.strip().rstrip("/") for line in (REPO / ".funcignore").read_text().splitlines()}
    assert "devhost" in ignored and not ignored & {"durable_agents", "agent_app", "function_app.py"}
