"""The model client: Azure OpenAI (keyless), any OpenAI-compatible server, or devhost's offline model.

One ``AsyncOpenAI`` client per process, chosen by the settings (DESIGN.md §5). Retries on 429 and 5xx
with backoff that honours ``Retry-After`` happen here and only here: the client's own retry policy,
sized by ``MODEL_MAX_RETRIES``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import openai

from ._errors import AgentError
from ._settings import Settings

AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
ProviderKind = Literal["azure-openai", "openai-compatible", "offline"]


@dataclass(frozen=True)
class ModelProvider:
    """Which model the app talks to, and the client that talks to it."""

    kind: ProviderKind
    model: str
    endpoint: str
    client: openai.AsyncOpenAI

    def describe(self) -> dict[str, str]:
        label = {"azure-openai": "Azure OpenAI", "openai-compatible": "OpenAI-compatible server",
                 "offline": "offline model served by devhost (canned, deterministic answers; no real model)"}
        return {"kind": self.kind, "model": self.model, "endpoint": self.endpoint, "label": label[self.kind]}


_cache: dict[tuple[Any, ...], ModelProvider] = {}


def provider(settings: Settings, credential: Any = None) -> ModelProvider:
    """The provider the settings select; ``credential`` overrides the default Azure credential."""
    key = (settings, id(credential) if credential is not None else None)
    if key not in _cache:
        _cache[key] = _build(settings, credential)
    return _cache[key]


def _build(settings: Settings, credential: Any) -> ModelProvider:
    retries = settings.model_max_retries
    if settings.azure_openai_endpoint and settings.azure_openai_deployment:
        if settings.azure_openai_api_key:
            auth: dict[str, Any] = {"api_key": settings.azure_openai_api_key}
        else:
            from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

            credential = credential or DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
            auth = {"azure_ad_token_provider": get_bearer_token_provider(credential, AZURE_SCOPE)}
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.azure_openai_api_version,
            max_retries=retries,
            **auth,
        )
        return ModelProvider("azure-openai", settings.azure_openai_deployment, settings.azure_openai_endpoint, client)
    if settings.openai_base_url:
        client = openai.AsyncOpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key or "none",
                                    max_retries=retries)
        return ModelProvider("openai-compatible", settings.openai_model or "default", settings.openai_base_url,
                             client)
    if settings.offline_model_url:
        client = openai.AsyncOpenAI(base_url=settings.offline_model_url, api_key="offline", max_retries=retries)
        return ModelProvider("offline", "offline", settings.offline_model_url, client)
    raise AgentError(
        "NoModelConfigured",
        "no model is configured: set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_CHAT_DEPLOYMENT_NAME, or "
        "OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL (devhost provides an offline model otherwise)",
        503,
    )


async def chat(
    provider: ModelProvider,
    messages: list[dict[str, Any]],
    *,
    tools: list[dict[str, Any]] | None = None,
    response_format: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    on_delta: Callable[[str], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """One Chat Completions call, streamed: the assistant message as a plain dict, with usage.

    ``on_delta`` receives each piece of text as it arrives. A failure before the first chunk is retried by the
    client (429/5xx, honouring Retry-After); a failure mid-stream raises ``StreamInterrupted``.
    """
    # The client walks every typed parameter before sending (about 0.2 ms a message with openai 3.x), a cost that
    # grows with the conversation and holds up the event loop. Messages and tools are plain JSON built by this
    # package and need no conversion, so they go in ``extra_body``, which the client sends as it is.
    body: dict[str, Any] = {"messages": messages, **({"tools": tools} if tools else {})}
    kwargs: dict[str, Any] = {"model": provider.model, "messages": [], **(options or {}), "stream": True,
                              "stream_options": {"include_usage": True}, "extra_body": body}
    if response_format:
        kwargs["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": "answer", "schema": response_format}}
    try:
        stream = await provider.client.chat.completions.create(**kwargs)
    except openai.APIStatusError as exc:
        raise AgentError("ModelError", f"the model answered {exc.status_code}: {exc.message}", 502) from exc
    except openai.APIConnectionError as exc:
        raise AgentError("ModelUnreachable", f"cannot reach the model at {provider.endpoint}: {exc}", 502) from exc
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    usage: dict[str, int] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    finish: str | None = None
    undelivered: Exception | None = None
    try:
        async for chunk in stream:
            if chunk.usage:
                usage = {"prompt_tokens": chunk.usage.prompt_tokens, "completion_tokens": chunk.usage.completion_tokens,
                         "total_tokens": chunk.usage.total_tokens}
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                delta = choice.delta
                if delta.content:
                    text.append(delta.content)
                    if on_delta is not None:
                        try:
                            await on_delta(delta.content)
                        except Exception as exc:
                            undelivered = exc
                            raise
                for part in delta.tool_calls or []:
                    call = calls.setdefault(part.index, {"id": "", "type": "function",
                                                         "function": {"name": "", "arguments": ""}})
                    call["id"] = part.id or call["id"]
                    if part.function is not None:
                        call["function"]["name"] += part.function.name or ""
                        call["function"]["arguments"] += part.function.arguments or ""
    except Exception as exc:  # the transport's errors differ between openai releases
        if exc is undelivered:
            raise  # the receiver failed, not the model: asking the model again would not help
        raise StreamInterrupted(f"the model's stream broke off: {exc}") from exc
    finally:
        await stream.close()  # a call given up early stops the model generating for nobody
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {"message": message, "finish_reason": finish, "usage": usage}


class StreamInterrupted(AgentError):
    """The model's stream broke off after it had started; the call can be made again."""

    def __init__(self, message: str) -> None:
        super().__init__("ModelStreamInterrupted", message, 502)
