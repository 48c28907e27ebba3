"""The durable client binding value and the management URLs it carries."""

from __future__ import annotations

import json
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"


def query_string(hub: str, system_key: str | None) -> str:
    """The query every management URL carries, as the extension's URLs do."""
    qs = f"taskHub={quote(hub)}&connection=Storage"
    return f"{qs}&code={quote(system_key)}" if system_key else qs


def management_urls(base_url: str, hub: str, instance_id: str, system_key: str | None) -> dict[str, str]:
    """The check-status payload for one instance (``INSTANCEID`` keeps it a template)."""
    qs = query_string(hub, system_key)
    inst = f"{base_url}{WEBHOOK_PATH}/instances/{quote(instance_id, safe='')}"
    if instance_id == "INSTANCEID":
        inst = f"{base_url}{WEBHOOK_PATH}/instances/INSTANCEID"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{inst}?{qs}",
        "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{qs}",
        "terminatePostUri": f"{inst}/terminate?reason={{text}}&{qs}",
        "rewindPostUri": f"{inst}/rewind?reason={{text}}&{qs}",
        "purgeHistoryDeleteUri": f"{inst}?{qs}",
        "restartPostUri": f"{inst}/restart?{qs}",
        "suspendPostUri": f"{inst}/suspend?reason={{text}}&{qs}",
        "resumePostUri": f"{inst}/resume?reason={{text}}&{qs}",
    }


def client_binding(base_url: str, hub: str, system_key: str | None, rpc_token: str | None) -> str:
    """The JSON string a ``durableClient`` binding receives.

    The SDK calls ``rpcBaseUrl`` without keys, so when keys are enforced that URL carries a secret
    path segment instead, as the real extension's local RPC endpoint needs none either.
    """
    qs = query_string(hub, system_key)
    rpc = f"{base_url}{WEBHOOK_PATH}/" + (f"~{rpc_token}/" if rpc_token else "")
    return json.dumps(
        {
            "taskHubName": hub,
            "creationUrls": {
                "createNewInstancePostUri":
                    f"{base_url}{WEBHOOK_PATH}/orchestrators/{{functionName}}[/{{instanceId}}]?{qs}",
                "createAndWaitOnNewInstancePostUri":
                    f"{base_url}{WEBHOOK_PATH}/orchestrators/{{functionName}}[/{{instanceId}}]"
                    f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{qs}",
            },
            "managementUrls": management_urls(base_url, hub, "INSTANCEID", system_key),
            "baseUrl": f"{base_url}{WEBHOOK_PATH}",
            "requiredQueryStringParameters": qs,
            "rpcBaseUrl": rpc,
        }
    )
