"""Every environment setting the app reads, declared once.

``SETTINGS`` is the one list the code, ``infra/`` and ``local.settings.json.example`` are checked
against; ``load()`` reads them into a typed ``Settings``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Where = Literal["azure", "local", "both"]


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it is set and what it means."""

    name: str
    where: Where
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("AZURE_OPENAI_ENDPOINT", "both", "Azure OpenAI endpoint; with a deployment name, selects Azure OpenAI"),
    Setting("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME", "both", "chat model deployment in the Azure OpenAI account"),
    Setting("AZURE_OPENAI_API_VERSION", "both", "Azure OpenAI API version"),
    Setting("AZURE_OPENAI_API_KEY", "local", "key for Azure OpenAI; only when keyless auth is not possible"),
    Setting("AZURE_CLIENT_ID", "azure", "client id of the user-assigned managed identity"),
    Setting("OPENAI_BASE_URL", "local", "any OpenAI-compatible server, used when Azure OpenAI is not set"),
    Setting("OPENAI_API_KEY", "local", "key for OPENAI_BASE_URL"),
    Setting("OPENAI_MODEL", "local", "model name for OPENAI_BASE_URL"),
    Setting("DEVHOST_OFFLINE_MODEL_URL", "local", "offline model served by devhost; set by devhost itself"),
    Setting("MODEL_MAX_RETRIES", "both", "retries of a model call on 429/5xx (Retry-After honoured)"),
    Setting("SESSION_TTL_DAYS", "both", "idle sessions expire after this many days"),
    Setting("SESSION_TOKEN_BUDGET", "both", "estimated tokens of history kept before old turns are compacted"),
    Setting("APPROVAL_TIMEOUT_SECONDS", "both", "how long a run waits for a human approval"),
    Setting("AGENT_MAX_STEPS", "both", "model calls allowed in one run"),
    Setting("MCP_TOOL_WAIT_SECONDS", "both", "how long an agent's MCP tool waits for its run before answering"),
    Setting("REDIS_URL", "local", "Redis for run streams, e.g. redis://127.0.0.1:6379/0"),
    Setting("REDIS_HOST", "azure", "Azure Managed Redis host name (keyless with REDIS_USE_ENTRA_ID)"),
    Setting("REDIS_PORT", "azure", "Azure Managed Redis port (10000)"),
    Setting("REDIS_USE_ENTRA_ID", "azure", "true: authenticate to Redis with the managed identity"),
    Setting("STREAM_TTL_MINUTES", "both", "how long a run's stream stays readable after its last event"),
    Setting("STREAM_STORE_PATH", "local", "SQLite file of the embedded stream store (no Redis configured)"),
    Setting("OUTBOX_DIR", "both", "folder the send_email tool writes approved emails to"),
    Setting("REMOTE_A2A_AGENTS", "local", "the example app's remote A2A agents: name=card-URL pairs, space-separated"),
    Setting("MCP_SERVERS", "local", "the example app's MCP servers, whose tools its assistant uses: name=URL pairs, "
            "space-separated"),
    Setting("TASKHUB_NAME", "both", "Durable Functions task hub name"),
    Setting("OTEL_EXPORTER_OTLP_ENDPOINT", "local", "OTLP/HTTP collector for traces and metrics, e.g. http://127.0.0.1:4318"),
    Setting("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "local", "OTLP/HTTP endpoint for traces alone"),
    Setting("OTEL_SERVICE_NAME", "local", "the service name on traces and metrics (durable-agents)"),
    Setting("APPLICATIONINSIGHTS_CONNECTION_STRING", "azure", "Application Insights: traces and metrics go there"),
    Setting("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "azure", "Authorization=AAD: export with the identity"),
    Setting("DURABLE_TASK_SCHEDULER_CONNECTION_STRING", "azure", "Durable Task Scheduler endpoint and auth"),
)
SETTING_NAMES = frozenset(s.name for s in SETTINGS)


@dataclass(frozen=True)
class Settings:
    """The settings as typed values, with their defaults applied."""

    azure_openai_endpoint: str | None
    azure_openai_deployment: str | None
    azure_openai_api_version: str
    azure_openai_api_key: str | None
    azure_client_id: str | None
    openai_base_url: str | None
    openai_api_key: str | None
    openai_model: str | None
    offline_model_url: str | None
    model_max_retries: int
    session_ttl_days: float
    session_token_budget: int
    approval_timeout_seconds: int
    agent_max_steps: int
    mcp_tool_wait_seconds: float
    outbox_dir: str | None
    redis_url: str | None
    redis_host: str | None
    redis_port: int
    redis_use_entra_id: bool
    stream_ttl_minutes: float
    stream_store_path: str | None
    taskhub_name: str | None
    durable_task_scheduler_connection_string: str | None


def _get(name: str) -> str | None:
    if name not in SETTING_NAMES:
        raise KeyError(f"{name} is not declared in agents.settings.SETTINGS")
    value = os.environ.get(name, "").strip()
    return value or None


def _number(name: str, default: float, kind: type = int) -> float:
    text = _get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError as exc:
        raise ValueError(f"setting {name}={text!r} must be a number") from exc
    if value <= 0:
        raise ValueError(f"setting {name}={text!r} must be positive")
    return value


def load() -> Settings:
    """Read the environment now (settings can change between tests)."""
    return Settings(
        azure_openai_endpoint=_get("AZURE_OPENAI_ENDPOINT"),
        azure_openai_deployment=_get("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME"),
        azure_openai_api_version=_get("AZURE_OPENAI_API_VERSION") or "2024-10-21",
        azure_openai_api_key=_get("AZURE_OPENAI_API_KEY"),
        azure_client_id=_get("AZURE_CLIENT_ID"),
        openai_base_url=_get("OPENAI_BASE_URL"),
        openai_api_key=_get("OPENAI_API_KEY"),
        openai_model=_get("OPENAI_MODEL"),
        offline_model_url=_get("DEVHOST_OFFLINE_MODEL_URL"),
        model_max_retries=int(_number("MODEL_MAX_RETRIES", 4)),
        session_ttl_days=float(_number("SESSION_TTL_DAYS", 14, float)),
        session_token_budget=int(_number("SESSION_TOKEN_BUDGET", 6000)),
        approval_timeout_seconds=int(_number("APPROVAL_TIMEOUT_SECONDS", 3600)),
        agent_max_steps=int(_number("AGENT_MAX_STEPS", 12)),
        mcp_tool_wait_seconds=float(_number("MCP_TOOL_WAIT_SECONDS", 50, float)),
        outbox_dir=_get("OUTBOX_DIR"),
        redis_url=_get("REDIS_URL"),
        redis_host=_get("REDIS_HOST"),
        redis_port=int(_number("REDIS_PORT", 10000)),
        redis_use_entra_id=(_get("REDIS_USE_ENTRA_ID") or "").lower() == "true",
        stream_ttl_minutes=float(_number("STREAM_TTL_MINUTES", 60, float)),
        stream_store_path=_get("STREAM_STORE_PATH"),
        taskhub_name=_get("TASKHUB_NAME"),
        durable_task_scheduler_connection_string=_get("DURABLE_TASK_SCHEDULER_CONNECTION_STRING"),
    )
