"""The web UI: static assets (HTML, CSS, ES modules; no build step) served on the HTTP port.

Every page is the same shell (`static/index.html`); `static/js/app.js` routes by path in the
browser and each page reads its data from the JSON gateway (`/api/...`), so the UI has no
server-side templates and uses exactly the API everyone else does. Nothing is rendered
from strings as HTML: the scripts build DOM nodes and set text (see `static/js/dom.js`).
"""

from __future__ import annotations

from pathlib import Path

from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from modelyard.gateway.security import CSRF_COOKIE, new_csrf_token

#: The assets next to this module (resolved, so an editable install serves the checkout's).
STATIC_DIR = Path(__file__).resolve().parent / "static"


class UiAssets:
    """Serves the shell page (setting the CSRF cookie) and the static assets."""

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        self.static_dir = static_dir
        self._shell = (static_dir / "index.html").read_bytes()

    def asset(self, request: Request, path: str) -> Response:
        """One static file (confined to the static folder; 404 outside it)."""
        response = send_from_directory(
            self.static_dir, path, request.environ, max_age=0, conditional=True, etag=True
        )
        response.headers["Cache-Control"] = "no-cache"
        return response

    def page(self, request: Request) -> Response:
        """The page shell; gives the browser a CSRF token cookie if it has none."""
        response = Response(self._shell, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        if not request.cookies.get(CSRF_COOKIE):
            # Readable by the UI's script (it echoes it in X-CSRF-Token); Strict keeps it off
            # every request another site makes.
            response.set_cookie(
                CSRF_COOKIE,
                new_csrf_token(),
                httponly=False,
                samesite="Strict",
                secure=request.is_secure,
                path="/",
            )
        return response
