"""Make docs/console.png: the agent console on devhost, in a chat with a tool call and an approval.

    .venv/bin/python scripts/console_screenshot.py [--out docs/console.png]

Starts devhost on this repository's app with a fresh data directory and no model configured (so devhost's offline
model answers), chats in headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser), saves the
picture and stops devhost.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium reaches for Google's services at start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
# Nothing configured: the app uses devhost's offline model, whatever the shell or local.settings.json says.
NO_MODEL = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": "", "OPENAI_MODEL": "", "AZURE_OPENAI_ENDPOINT": "",
            "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "", "DEVHOST_OFFLINE_MODEL_URL": "", "REDIS_URL": "",
            "TASKHUB_NAME": "console"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_devhost(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **NO_MODEL, "STREAM_STORE_PATH": str(data / "streams.sqlite3"),
           "OUTBOX_DIR": str(data / "outbox")}
    with open(data / "devhost.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "devhost", "--app-dir", str(REPO), "--port", str(port),
                                    "--data-dir", str(data / "devhost")], cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"devhost exited with {process.returncode}:\n{(data / 'devhost.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/admin/host/status", timeout=1).json().get("state") == "Running":
                return process
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"devhost did not start within 60 s:\n{(data / 'devhost.log').read_text()}")


def shoot(url: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        page.goto(f"{url}/api/console#/chat/assistant/demo")
        for message in ("what is 12*31?", "email ada@example.com that the report is ready"):
            page.fill("#message", message)
            page.keyboard.press("Enter")
            if "email" in message:
                page.locator(".approval[data-state=pending] button.approve").click()
            expect(page.locator(".turn").last).to_have_attribute("data-status", "completed", timeout=30_000)
        page.mouse.move(0, 0)
        page.screenshot(path=str(out))
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "console.png")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("chromium is missing: apt-get install chromium")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="console-screenshot-") as tmp:
        process = start_devhost(Path(tmp), port)
        try:
            shoot(f"http://127.0.0.1:{port}", args.out)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
