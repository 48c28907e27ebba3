"""``GET /api/console``: the agent console, plain HTML, CSS and JavaScript modules from this package's data.

No build step and nothing fetched from elsewhere: the page talks only to the app's own API (and, under devhost,
probes devhost's dashboard on the same origin to link runs to it). The page itself is behind the function key
like the API (``/api/console?code=KEY`` in Azure) and passes that key on every API call; its static files hold no
data, and a ``<script>`` or ``<link>`` tag cannot send a key, so they are anonymous.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from .._errors import AgentError
from .._http import error_response

STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# The browser then refuses anything from another origin, inline scripts and framing, whatever the page renders.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'self'; base-uri 'self'; object-src 'none'; "
                                      "frame-ancestors 'none'; form-action 'self'"}
ASSET = re.compile(r'\b(href|src)="([\w-]+\.(?:css|js|svg))"')
FILES = {path.name: path for path in STATIC.iterdir() if path.suffix in TYPES and path.name != "index.html"}

bp = df.Blueprint()


def _file(path: Path, body: str | None = None) -> func.HttpResponse:
    return func.HttpResponse(body if body is not None else path.read_bytes(), status_code=200,
                             headers={**HEADERS, "Content-Type": TYPES[path.suffix]})


@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def console_page(req: func.HttpRequest) -> func.HttpResponse:
    """The agent console page."""
    # The page's files are addressed from its own path, so they load under any route prefix, with or without a
    # trailing slash. Not through a <base>: the page's "#/..." links would resolve against it and leave the page
    # for another address, without the ?code= key.
    files = html.escape(urlsplit(req.url).path.rstrip("/") + "/")
    page = STATIC / "index.html"
    text = ASSET.sub(lambda m: f'{m[1]}="{files}{m[2]}"', page.read_text(encoding="utf-8"))
    return _file(page, text)


@bp.route(route="console/{file}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_file(req: func.HttpRequest) -> func.HttpResponse:
    """One of the console's static files (by name: nothing outside the package's folder can be asked for)."""
    path = FILES.get(req.route_params["file"])
    if path is None:
        return error_response(AgentError("NotFound", f"the console has no file {req.route_params['file']!r}", 404))
    return _file(path)
