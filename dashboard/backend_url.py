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
that writes it into the page's HTML as the browser asked for it: the HTML the server answers for
a page's address is its `index.html`; the script added takes as many path segments off the
browser's address as the server saw after its own base path (`server.baseUrlPath`), so the
address stays right behind a proxy that serves the dashboard under a prefix of its own. Only a
number goes into the page, never text from the request. The app's root address (nothing after
the base path) is left as it is: there the frontend's first try is already right.

`install` adds the middleware to the server `dashboard/serve.py` starts; under a plain
`streamlit run dashboard/app.py` the frontend finds the server by its own tries, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("infusion_outcomes.backend_url")

# Inserted right after <head>, before Streamlit's own (deferred, module) scripts read the setting.
# {segments}: how many segments of the browser's path are the page's, not the app's.
SCRIPT = """<script>
(function () {{
  var parts = window.location.pathname.replace(/\\/+$/, "").split("/");
  if (parts.length > {segments}) {{
    window.__streamlit = {{BACKEND_BASE_URL: window.location.origin + parts.slice(0, parts.length - {segments}).join("/") + "/"}};
  }}
}})();
</script>"""


def page_segments(raw_path: bytes, base_url_path: str) -> int:
    """The segments of the request's path after the server's base path (0 for the app's root
    address, or for a path outside the base), counted on the path as sent (still
    percent-encoded), as the browser's `location.pathname` holds it."""
    path = raw_path.split(b"?", 1)[0].decode("latin-1").strip("/")
    base = base_url_path.strip("/")
    if base:
        if path != base and not path.startswith(base + "/"):
            return 0
        path = path[len(base):].strip("/")
    return len(path.split("/")) if path else 0


def script(segments: int) -> bytes:
    return SCRIPT.format(segments=int(segments)).encode()


def with_backend_url(html: bytes, segments: int) -> bytes:
    """`html` (Streamlit's index.html) with the script that sets BACKEND_BASE_URL, or unchanged
    when there is no page part. Streamlit's index.html has a <head>; without one the script goes
    first, where a browser still runs it before the deferred module scripts."""
    if segments <= 0:
        return html
    head = html.find(b"<head>")
    at = head + len(b"<head>") if head >= 0 else 0
    return html[:at] + script(segments) + html[at:]


class BackendUrl:
    """ASGI middleware: each HTML answer to a GET of a page's address gets the script
    (`with_backend_url`; a HEAD the length that GET's body will have); every other request and
    answer passes untouched."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], base_url_path: str = "") -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        segments = (page_segments(scope.get("raw_path") or scope.get("path", "").encode(), self.base_url_path)
                    if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") else 0)
        if not segments:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def send_with_script(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _is_plain_html(message):
                if scope["method"] == "HEAD":  # no body: the length the GET's body will have
                    length = int(dict(message["headers"]).get(b"content-length", b"0"))
                    message = _with_length(message, length + len(script(segments)))
                else:
                    start = message  # held until the body is complete: its length changes
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                html = with_backend_url(b"".join(body), segments)
                await send(_with_length(start, len(html)))
                message = {"type": "http.response.body", "body": html, "more_body": False}
            await send(message)

        await self.app(scope, receive, send_with_script)


def _is_plain_html(start: Message) -> bool:
    """A 200 answer of HTML that no middleware inside this one has compressed."""
    headers = dict(start.get("headers", []))
    return (start.get("status") == 200 and headers.get(b"content-type", b"").startswith(b"text/html")
            and b"content-encoding" not in headers)


def _with_length(start: Message, length: int) -> Message:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    return {**start, "headers": [*headers, (b"content-length", str(length).encode())]}


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
