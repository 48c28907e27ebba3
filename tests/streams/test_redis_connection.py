"""How the Redis stream store connects: a URL locally, Entra ID (no keys) to Azure Managed Redis."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis
from redis_entraid.cred_provider import EntraIdCredentialsProvider

from durable_agents import AgentError
from durable_agents import _settings as settings
from durable_agents._streams.redis_store import MAX_BLOCK_SECONDS, RedisStore, client_from_settings


def load(monkeypatch: pytest.MonkeyPatch, **values: str) -> settings.Settings:
    for key in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_USE_ENTRA_ID", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return settings.load()


def test_a_url_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_from_settings(load(monkeypatch, REDIS_URL="redis://127.0.0.1:6390/2"))
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6390, 2)


@pytest.mark.parametrize("client_id", ["", "11111111-2222-3333-4444-555555555555"])
def test_azure_managed_redis_is_reached_over_tls_with_an_entra_credential(
    monkeypatch: pytest.MonkeyPatch, client_id: str
) -> None:
    config = load(monkeypatch, REDIS_HOST="cache.westeurope.redis.azure.net", REDIS_USE_ENTRA_ID="true",
                  AZURE_CLIENT_ID=client_id)
    client = client_from_settings(config)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["host"] == "cache.westeurope.redis.azure.net" and kwargs["port"] == 10000
    assert client.connection_pool.connection_class.__name__ == "SSLConnection"
    assert isinstance(kwargs["credential_provider"], EntraIdCredentialsProvider)
    assert "password" not in kwargs or kwargs["password"] is None
    waiter = RedisStore(client, 60).waiter.connection_pool  # the blocking reads' client: same server and identity
    assert waiter.connection_class.__name__ == "SSLConnection"
    assert waiter.connection_kwargs["credential_provider"] is kwargs["credential_provider"]
    assert waiter.connection_kwargs["socket_timeout"] > MAX_BLOCK_SECONDS > kwargs["socket_timeout"]


@pytest.mark.slow
def test_a_redis_that_never_answers_fails_a_write_instead_of_holding_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete in the kernel's backlog; nothing is ever read or written
        store = RedisStore(client_from_settings(load(monkeypatch, REDIS_URL=f"redis://127.0.0.1:"
                                                                            f"{silent.getsockname()[1]}/0")), 60)

        async def write() -> None:
            try:
                # The deadline only stops a hang from stalling the suite; the default policy took 11 minutes.
                await asyncio.wait_for(store.append("run", {"type": "delta", "data": {"text": "x"}}), 120)
            finally:
                await store.close()

        with pytest.raises(redis.exceptions.TimeoutError):
            asyncio.run(write())


def test_a_host_without_entra_id_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AgentError, match="REDIS_HOST needs REDIS_USE_ENTRA_ID=true"):
        client_from_settings(load(monkeypatch, REDIS_HOST="cache.example.net"))
