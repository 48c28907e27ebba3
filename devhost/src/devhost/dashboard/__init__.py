"""devhost's dashboard: a page at ``/devhost/`` to list, inspect and act on orchestrations and entities."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from ..durable.management import ManagementApi
from ..errors import error_response
from .api import DashboardApi

PATH = "/devhost"
STATIC = Path(__file__).parent / "static"
_FILES = {"": "index.html", "app.js": "app.js", "style.css": "style.css"}
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}


class Dashboard:
    """Serves the page's three files and its JSON API."""

    def __init__(self, management: ManagementApi) -> None:
        self.api = DashboardApi(management)

    @staticmethod
    def owns(path: str) -> bool:
        return path == PATH or path.startswith(PATH + "/")

    async def handle(self, request: Request, path: str) -> Response:
        rest = path[len(PATH):]
        if rest == "":
            return RedirectResponse(PATH + "/")
        rest = rest[1:]
        if rest.startswith("api/"):
            return await self.api.handle(request, rest[4:])
        name = _FILES.get(rest)
        if name is None:
            return error_response(404, "NotFound", f"no dashboard page at {path}")
        return FileResponse(STATIC / name, media_type=_TYPES[Path(name).suffix],
                            headers={"Cache-Control": "no-cache"})
