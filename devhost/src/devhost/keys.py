"""Function, master and system keys, kept in the data directory across restarts."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Keys:
    """``functionKey`` opens function-level routes; ``masterKey`` opens everything;
    ``systemKey`` opens the Durable management API."""

    functionKey: str
    masterKey: str
    systemKey: str

    def allows(self, level: str, given: str | None) -> bool:
        """Whether ``given`` opens a route of auth ``level`` (anonymous, function, admin, system)."""
        if level == "anonymous":
            return True
        if not given:
            return False
        allowed = {"function": (self.functionKey, self.masterKey), "admin": (self.masterKey,),
                   "system": (self.systemKey, self.masterKey)}.get(level, (self.masterKey,))
        return any(secrets.compare_digest(given, key) for key in allowed)


def load_keys(data_dir: Path) -> Keys:
    """Read keys.json, creating it with fresh random keys the first time."""
    path = data_dir / "keys.json"
    if path.exists():
        return Keys(**json.loads(path.read_text(encoding="utf-8")))
    keys = Keys(*(secrets.token_urlsafe(32) for _ in range(3)))
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(keys), indent=2), encoding="utf-8")
    path.chmod(0o600)
    return keys
