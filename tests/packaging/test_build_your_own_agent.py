"""The README's "Build your own agent", as a user does it: both wheels in an empty venv, the README's file, devhost."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost


def wheel(distribution: str, tmp: Path) -> Path:
    """Built from a copy: a build leaves its build/ folder beside the sources."""
    source = tmp / "src" / distribution
    shutil.copytree(REPO / distribution, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(tmp / "dist")],
                   check=True)
    return next((tmp / "dist").glob(f"{distribution.replace('-', '_')}-*.whl"))


def readme_app() -> str:
    section = (REPO / "README.md").read_text().split("## Build your own agent", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    server = ModelServer().start()
    yield server
    server.stop()


def test_the_readme_app_runs_from_the_wheels_in_an_empty_folder(tmp_path: Path, model: ModelServer) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(wheel("durable_agents", tmp_path))], check=True)
    # The library alone: it needs nothing of devhost.
    check = "import durable_agents, importlib.util; assert importlib.util.find_spec('devhost') is None"
    subprocess.run([venv / "bin" / "python", "-c", check], check=True, cwd=tmp_path)  # not beside this checkout
    subprocess.run([*pip, str(wheel("devhost", tmp_path))], check=True)
    app_dir = tmp_path / "my-agent"
    app_dir.mkdir()
    (app_dir / "function_app.py").write_text(readme_app())
    env = {"OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "k", "OPENAI_MODEL": "scripted-model",
           "STREAM_STORE_PATH": str(tmp_path / "streams.sqlite3"), "AZURE_OPENAI_ENDPOINT": "", "REDIS_URL": ""}
    host = Devhost(app_dir=app_dir, data_dir=tmp_path / "data", env=env,
                   command=[str(venv / "bin" / "devhost")]).start(timeout=60)
    try:
        model.call_tools(("word_count", {"text": "soft rain on the roof"}))
        model.say("Soft rain on the roof (5 words).")
        answer = httpx.post(f"{host.url}/api/agents/writer/run", json={"message": "a haiku about rain"}, timeout=60)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["response"] == "Soft rain on the roof (5 words)."
        assert [s["kind"] for s in body["steps"]] == ["model", "tool", "model"]
        assert model.chat_requests()[1]["body"]["messages"][-1] == {
            "role": "tool", "tool_call_id": model.chat_requests()[1]["body"]["messages"][-1]["tool_call_id"],
            "content": "5"}
    finally:
        host.stop()
