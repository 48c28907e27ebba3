"""devhost is a distribution of its own: its wheel installs into an empty venv and serves an app there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.devhost.test_durable import wait
from tests.fixtures.processes import REPO, Devhost


def test_the_wheel_installs_alone_and_its_devhost_command_serves_an_app(tmp_path: Path) -> None:
    # Built from a copy: a build leaves its build/ folder beside the sources.
    source = tmp_path / "devhost"
    shutil.copytree(REPO / "devhost", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source),
                    "-w", str(tmp_path / "dist")], check=True)
    wheel = next((tmp_path / "dist").glob("devhost-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True)
    # devhost needs nothing of an agent app: no model client, no stream store.
    for absent in ("openai", "redis"):
        found = subprocess.run([venv / "bin" / "python", "-c", f"import {absent}"], capture_output=True)
        assert found.returncode != 0, f"{absent} was installed with devhost"
    host = Devhost(app_dir=REPO / "tests" / "devhost" / "versioned_app", data_dir=tmp_path / "data",
                   command=[str(venv / "bin" / "devhost")]).start(timeout=60)
    try:
        with httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30) as api:
            api.post("/orchestrators/own_version/from-wheel?version=3.1")
            assert wait(api, "from-wheel")["output"] == "3.1"
        assert httpx.get(f"{host.url}/devhost/").status_code == 200  # the dashboard's files are in the wheel
    finally:
        host.stop()
