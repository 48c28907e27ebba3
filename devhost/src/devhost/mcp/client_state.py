"""Client ids and the client state the extension hands out: ``<clientId>|<instanceId>``, in plain text.

The state is the Streamable HTTP ``Mcp-Session-Id`` and the legacy SSE ``azmcpcs`` query value. The extension
encrypts it in Azure and leaves it plain under Core Tools; devhost does as Core Tools does. Nothing about a
client is kept for Streamable HTTP: any well-formed state is accepted, also one from before a restart.
"""

from __future__ import annotations

import secrets
import string

_ID_CHARS = string.ascii_lowercase + string.digits
_ID_LENGTH = 16


def new_id() -> str:
    """16 random characters from a-z and 0-9, as the extension makes client and instance ids."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(_ID_LENGTH))


def format_state(client_id: str, instance_id: str) -> str:
    return f"{client_id}|{instance_id}"


def parse_state(state: str) -> tuple[str, str] | None:
    """(client id, instance id), or None when ``state`` is not two non-empty parts around ``|``."""
    parts = [part for part in state.split("|") if part]
    return (parts[0], parts[1]) if len(parts) == 2 else None
