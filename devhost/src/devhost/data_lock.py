"""One devhost per data directory.

Two hosts on one store would each start the same unfinished activities and timers and step the same
orchestrations, so the second one is refused with a message that names the first. The lock is an advisory
``flock`` held for the life of the process: the kernel drops it when the process ends, however it ends, so a
``kill -9`` never leaves a stale lock behind.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: no flock; the directory is not guarded there
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "devhost.lock"
log = logging.getLogger("devhost")


class DataDirInUse(Exception):
    """Another devhost process serves this data directory."""


def lock_data_dir(data_dir: Path) -> IO[str] | None:
    """Hold ``data_dir`` for this process; keep the returned file open for as long as the host runs."""
    if fcntl is None:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DataDirInUse(f"the data directory {data_dir} is in use by another devhost ({holder}); stop that "
                           f"one, or give this one a directory of its own with --data-dir") from None
    except OSError as exc:  # a file system without locks (some network mounts): run, but say so
        handle.close()
        log.warning("devhost: cannot lock %s (%s); make sure no other devhost uses it", data_dir, exc.strerror)
        return None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle
