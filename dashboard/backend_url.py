"""Tell Streamlit's frontend where the server is, so a page opened by its own address (a bookmark
to the Worklist, a link to a patient) connects at once.

Why: Streamlit's frontend does not know which part of the address is the app's and which the
page's. Opened at `/worklist` it first asks `/worklist/_stcore/health` and
`/worklist/_stcore/host-config`, gets 404 (the server reserves those paths), waits its retry
delay and only then asks `/_stcore/health` and opens the websocket. Measured in Chromium on
loopback: the websocket opened 0.12-0.16 s after the first try (0.03-0.06 s at the root
address), on every new session opened at a page's address; over a clinic's network each failed
try adds a round trip.

How: Streamlit's frontend reads `window.__streamlit.BACKEND_BASE_URL` (the setting a host that
embeds Streamlit uses) and then tries that address alone. `BackendUrl` is an ASGI middleware
that writes it into the HTML the server answers for a page's address (its `index.html`): a
script that takes the last segment, the page's, off the browser's address. That keeps the
address right behind a proxy that serves the dashboard under a prefix of its own, and no text
from the request goes into the page. Only an address of one plain segment after the server's base
path (`server.baseUrlPath`) gets it, as Streamlit's page addresses are (`worklist`, `patient`):
an address with more segments, or an encoded slash a proxy may have decoded on the way, could
make the browser's address and the server's disagree on where the page's part starts, and a
wrong address would leave the frontend nothing else to try; there, and at the app's root
address, the frontend finds the server by its own tries, as before.

The answer is otherwise Streamlit's: no byte range of it is served (the body differs from the
file's) and its ETag is the file's with a suffix.

`install` adds the middleware to the server `dashboard/serve.py` starts; under a plain
`streamlit run dashboard/app.py` the frontend finds the server by its own tries, as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("infusion_outcomes.backend_url")

# Inserted right after <head>, before Streamlit's own (deferred, module) scripts read the setting.
# (`new URL(..., location.href)`, not `location.origin + ...`: in a sandboxed frame the origin is "null".)
SCRIPT = b"""<script>
(function () {
  var path = window.location.pathname.replace(/\\/+$/, "");
  var app = path.slice(0, path.lastIndexOf("/") + 1);
  if (app) window.__streamlit = {BACKEND_BASE_URL: new URL(app, window.location.href).href};
})();
</script>"""
# A Streamlit page's address: one segment of letters, digits, "_", "." or "-" (st.Page's url_path),
# not "." or "..".
PAGE = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.-]+")
ETAG_SUFFIX = "-backend-url"
# Asked of a page's address, and not passed on: a byte range of the file (the body sent is not the
# file's), and `pathsend` (the server sending the file itself, past this middleware).
RANGE_HEADERS = (b"range", b"if-range")
PATHSEND = "http.response.pathsend"


def is_page_address(raw_path: bytes, base_url_path: str) -> bool:
    """Whether the request's path (as sent, still percent-encoded) is one plain segment after the
    server's base path: a page's address, whose HTML gets the script."""
    path = raw_path.split(b"?", 1)[0].decode("latin-1").strip("/")
    base = base_url_path.strip("/")
    if base:
        if not path.startswith(base + "/"):
            return False
        path = path[len(base) + 1:]
    return bool(PAGE.fullmatch(path))


def with_backend_url(html: bytes) -> bytes:
    """`html` (Streamlit's index.html) with the script that sets BACKEND_BASE_URL first in its
    <head> (or first of all without one, where a browser still runs it before the deferred
    module scripts)."""
    head = html.find(b"<head>")
    at = head + len(b"<head>") if head >= 0 else 0
    return html[:at] + SCRIPT + html[at:]


class BackendUrl:
    """ASGI middleware: each HTML answer to a GET of a page's address gets the script
    (`with_backend_url`; a HEAD the headers that GET's answer will have); every other request
    and answer passes untouched."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], base_url_path: str = "") -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
                and is_page_address(scope.get("raw_path") or scope.get("path", "").encode(), self.base_url_path)):
            await self.app(scope, receive, send)
            return
        scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers", []) if k.lower() not in RANGE_HEADERS],
                 "extensions": {k: v for k, v in (scope.get("extensions") or {}).items() if k != PATHSEND}}
        start: Message | None = None
        body: list[bytes] = []

        async def send_with_script(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _is_plain_html(message):
                if scope["method"] == "HEAD":  # no body: the length the GET's body will have
                    message = _as_changed(message, extra=len(SCRIPT))
                else:
                    start = message  # held until the body is complete: its length changes
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                html = with_backend_url(b"".join(body))
                await send(_as_changed(start, length=len(html)))
                message = {"type": "http.response.body", "body": html, "more_body": False}
            await send(message)

        await self.app(scope, receive, send_with_script)


def _is_plain_html(start: Message) -> bool:
    """A 200 answer of HTML that no middleware inside this one has compressed."""
    headers = dict(start.get("headers", []))
    return (start.get("status") == 200 and headers.get(b"content-type", b"").startswith(b"text/html")
            and b"content-encoding" not in headers)


def _as_changed(start: Message, length: int | None = None, extra: int = 0) -> Message:
    """The answer's start for the changed body: its length (`length`, or the file's plus `extra`
    when it says one), its ETag with a suffix, no byte ranges offered."""
    headers = []
    for key, value in start.get("headers", []):
        key = key.lower()
        if key == b"content-length":
            length = int(value) + extra if length is None else length
        elif key == b"etag":
            headers.append((key, value[:-1] + ETAG_SUFFIX.encode() + b'"' if value.endswith(b'"') else value))
        elif key != b"accept-ranges":
            headers.append((key, value))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {**start, "headers": headers}


def install() -> bool:
    """Add `BackendUrl` to the middleware of the Streamlit server this process starts, innermost
    (it sees the HTML before Streamlit's gzip compresses it). Call before the server starts.

    It replaces a function of Streamlit's server (`starlette_app.create_streamlit_middleware`,
    Streamlit pinned in requirements.lock). If a Streamlit of another shape lacks it, the server
    starts without the script (False, and a warning in its log): the frontend then finds the
    server by its own tries, and the Chromium tests, which fail on any failed request, say so."""
    from starlette.middleware import Middleware
    from streamlit import config

    try:
        from streamlit.web.server.starlette import starlette_app

        streamlit_middleware = starlette_app.create_streamlit_middleware
    except (ImportError, AttributeError):
        log.warning("this Streamlit has no create_streamlit_middleware: pages opened by their own "
                    "address will connect after Streamlit's own tries", exc_info=True)
        return False

    def with_backend_url_middleware() -> list[Middleware]:
        base = config.get_option("server.baseUrlPath") or ""
        return [*streamlit_middleware(), Middleware(BackendUrl, base_url_path=base)]

    starlette_app.create_streamlit_middleware = with_backend_url_middleware
    return True
