"""Choosing and calling the model: Azure OpenAI keyless, retries, and devhost's offline model."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from azure.core.credentials import AccessToken

from durable_agents import _model as model
from durable_agents import _settings as settings
from tests.agents.helpers import wait_run
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost


class FixedCredential:
    """An azure-identity style async credential that hands out one token and records the scopes asked."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("entra-token-123", int(time.time()) + 3600)

    async def close(self) -> None:
        pass


def test_azure_openai_is_called_keyless_with_an_entra_token(model_server: ModelServer, monkeypatch) -> None:
    model_server.reset()
    model_server.say("from azure")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", model_server.origin)
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME", "chat-deployment")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/never-used")
    credential = FixedCredential()
    provider = model.provider(settings.load(), credential=credential)
    assert provider.kind == "azure-openai"
    result = asyncio.run(model.chat(provider, [{"role": "user", "content": "hi"}]))
    assert result["message"]["content"] == "from azure"
    request = model_server.chat_requests()[0]
    assert request["path"].startswith("/openai/deployments/chat-deployment/chat/completions?api-version=")
    assert request["headers"]["authorization"] == "Bearer entra-token-123"
    assert "api-key" not in request["headers"]
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_model_calls_are_retried_on_429_honouring_retry_after(api: httpx.Client, model: ModelServer) -> None:
    model.fail(429, {"Retry-After": "1"})
    model.fail(503)
    model.say("third time lucky")
    body = api.post("/agents/assistant/run", json={"message": "hi"}).json()
    assert body["response"] == "third time lucky"
    times = [r["at"] for r in model.chat_requests()]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.9, "Retry-After: 1 was not honoured"
    assert [s["kind"] for s in body["steps"]] == ["model"]


def test_a_model_that_keeps_failing_fails_the_run_with_its_status(api: httpx.Client, model: ModelServer) -> None:
    for _ in range(3):
        model.fail(500)
    body = api.post("/agents/assistant/run", json={"message": "hi"}).json()
    assert body["status"] == "failed"
    assert "the model answered 500" in body["error"]


def test_with_no_model_configured_devhost_serves_its_offline_model(tmp_path: Path) -> None:
    env = {"TASKHUB_NAME": "offline", "OPENAI_BASE_URL": "", "AZURE_OPENAI_ENDPOINT": ""}
    host = Devhost(app_dir=REPO, data_dir=tmp_path / "data", env=env).start()
    try:
        assert "Offline model" in host.log()
        with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
            health = api.get("/health").json()
            assert health["model"]["kind"] == "offline" and "offline" in health["model"]["label"]
            body = api.post("/agents/assistant/run", json={"message": "Hello"}).json()
            assert body["response"] == "[offline model] You said: Hello"
            body = api.post("/agents/assistant/run", json={"message": "please calculate 6*7"}).json()
            assert [s["name"] for s in body["steps"]] == ["assistant", "calculate", "assistant"]
            assert body["response"] == "[offline model] The tool returned: 42"
            # A request that plainly fits a tool calls it without naming it, with arguments from the message.
            body = api.post("/agents/assistant/run", json={"message": "what is 12*31?", "session_id": "s1"}).json()
            assert body["response"] == "[offline model] The tool returned: 372"
            body = api.post("/agents/assistant/run", json={"message": "how many primes are below 100?"}).json()
            assert body["response"] == "[offline model] The tool returned: 25"
            body = api.post("/agents/assistant/run",
                            json={"message": "And what did I ask before?", "session_id": "s1"}).json()
            assert body["response"] == '[offline model] Before this you asked: "what is 12*31?"'
            body = api.post("/agents/assistant/run", json={"message": "email ada@example.com that it is ready",
                                                           "wait": False}).json()
            pending = wait_run(api, body["run_id"], {"awaiting_approval"})["pending_approval"]
            assert (pending["tool"], pending["arguments"]) == (
                "send_email", {"to": "ada@example.com", "subject": "it is ready", "body": "it is ready"})
            body = api.post("/agents/assistant/run", json={"message": "tell me about durable functions"}).json()
            assert body["response"] == "[offline model] You said: tell me about durable functions"
            schema = {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer"}},
                      "required": ["ok", "n"]}
            body = api.post("/agents/assistant/run", json={"message": "json please", "response_format": schema})
            assert body.json()["structured"] == {"ok": False, "n": 0}
        with httpx.stream("POST", f"{host.url}/devhost/offline-model/v1/chat/completions",
                          json={"model": "x", "stream": True, "messages": [{"role": "user", "content": "a b c"}]}) as s:
            chunks = [line for line in s.iter_lines() if line.startswith("data: ")]
        assert chunks[-1] == "data: [DONE]" and len(chunks) > 4
    finally:
        host.stop()


def test_a_receiver_that_fails_stops_the_call_and_is_not_taken_for_a_broken_stream(
    model_server: ModelServer, monkeypatch
) -> None:
    model_server.reset()
    model_server.say("word " * 200, chunk_delay=0.02)  # about 5 s of answer
    monkeypatch.setenv("OPENAI_BASE_URL", model_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    received: list[str] = []

    async def refuse(text: str) -> None:
        received.append(text)
        raise ConnectionError("the stream store is gone")

    provider = model.provider(settings.load())

    async def call_and_watch() -> Exception:
        # Not StreamInterrupted, which would have the model asked again for an answer that cannot be stored.
        try:
            await model.chat(provider, [{"role": "user", "content": "hi"}], on_delta=refuse)
        except ConnectionError as exc:
            failure = exc  # kept, as a caller keeps it: its frames still hold the model's stream
        else:
            raise AssertionError("the receiver's failure was lost")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while model_server.abandoned == 0:  # the call hung up on the model at once
            assert loop.time() < deadline, "the model's stream was left open"
            await asyncio.sleep(0.02)
        return failure

    assert str(asyncio.run(call_and_watch())) == "the stream store is gone"
    assert len(received) == 1
