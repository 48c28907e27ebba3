"""Function, master and system keys, kept in the data directory across restarts."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Keys:
    """``functionKey`` opens function-level routes; ``masterKey`` opens everything;
    ``systemKey`` opens the Durable management API; ``mcp_extension`` opens the MCP extension's webhook
    (named as Azure names that system key, ``<extension>_extension``)."""

    functionKey: str
    masterKey: str
    systemKey: str
    mcp_extension: str

    def allows(self, level: str, given: str | None) -> bool:
        """Whether ``given`` opens a route of auth ``level`` (anonymous, function, admin, system)."""
        if level == "anonymous":
            return True
        if not given:
            return False
        allowed = {"function": (self.functionKey, self.masterKey), "admin": (self.masterKey,),
                   "system": (self.systemKey, self.masterKey)}.get(level, (self.masterKey,))
        return any(secrets.compare_digest(given, key) for key in allowed)

    def allows_extension(self, extension: str, given: str | None) -> bool:
        """Whether ``given`` opens ``/runtime/webhooks/<extension>``: that extension's system key, or the master key."""
        own = getattr(self, f"{extension}_extension", None)
        return bool(given) and any(secrets.compare_digest(given, key) for key in (own, self.masterKey) if key)


def load_keys(data_dir: Path) -> Keys:
    """Read keys.json, creating it with fresh random keys the first time; a key it lacks is added to it."""
    path = data_dir / "keys.json"
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    names = [f.name for f in fields(Keys)]
    if all(name in stored for name in names):
        return Keys(**{name: stored[name] for name in names})
    keys = Keys(**{name: stored.get(name) or secrets.token_urlsafe(32) for name in names})
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(keys), indent=2), encoding="utf-8")
    path.chmod(0o600)
    return keys
