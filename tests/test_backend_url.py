"""dashboard/backend_url.py: the script that tells Streamlit's frontend where the server is, and
the middleware that adds it to a page's HTML. The browser's side (no failed try, every page
drawn, at the root and behind a proxy's prefix) is in tests/test_e2e_browser.py and
tests/test_e2e_proxy.py."""

from __future__ import annotations

import asyncio

import pytest

from dashboard.backend_url import BackendUrl, page_segments, script, with_backend_url

INDEX = b'<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n  </head>\n</html>\n'


@pytest.mark.parametrize(("raw_path", "base", "segments"), [
    (b"/", "", 0),  # the app's root address: the frontend's first try is right
    (b"", "", 0),
    (b"/worklist", "", 1),
    (b"/patient", "", 1),
    (b"/a/b", "", 2),  # an unknown address (Streamlit answers its index.html)
    (b"/a%2Fb", "", 1),  # counted as sent, as the browser's location.pathname holds it
    (b"/outcomes", "outcomes", 0),  # server.baseUrlPath: its root
    (b"/outcomes/", "/outcomes/", 0),
    (b"/outcomes/worklist", "outcomes", 1),
    (b"/outcomesx/worklist", "outcomes", 0),  # outside the base path: left alone
    (b"/other", "outcomes", 0),
])
def test_page_segments(raw_path, base, segments):
    assert page_segments(raw_path, base) == segments


def test_the_script_goes_first_in_head_and_holds_only_a_number():
    html = with_backend_url(INDEX, 1)
    assert html.startswith(b'<!DOCTYPE html>\n<html lang="en">\n  <head><script>')
    assert html.replace(script(1), b"") == INDEX
    assert b"parts.length > 1" in script(1) and b"parts.length - 1" in script(1)
    assert with_backend_url(INDEX, 0) == INDEX
    assert with_backend_url(b"<p>no head</p>", 2).startswith(script(2))


def run_middleware(method: str, path: bytes, response_headers: list[tuple[bytes, bytes]], body: bytes,
                   base: str = "", chunks: int = 1) -> list[dict]:
    """What BackendUrl sends for one request, in front of an app that answers `body` in `chunks`."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        if method == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        size = -(-len(body) // chunks)
        parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
        for number, part in enumerate(parts, start=1):
            await send({"type": "http.response.body", "body": part, "more_body": number < len(parts)})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path.decode(), "raw_path": path, "headers": []}
    asyncio.run(BackendUrl(app, base_url_path=base)(scope, receive, send))
    return sent


HTML = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(INDEX)).encode()),
        (b"etag", b'"1"')]


def body_and_length(sent: list[dict]) -> tuple[bytes, int]:
    length = int(dict(sent[0]["headers"])[b"content-length"])
    return b"".join(m.get("body", b"") for m in sent[1:]), length


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_page_address_gets_the_script_and_its_length(chunks):
    sent = run_middleware("GET", b"/worklist", HTML, INDEX, chunks=chunks)
    body, length = body_and_length(sent)
    assert body == with_backend_url(INDEX, 1) and length == len(body)
    assert dict(sent[0]["headers"])[b"etag"] == b'"1"'  # every other header as it was
    assert [k for k, _ in sent[0]["headers"]].count(b"content-length") == 1


def test_head_says_the_length_get_will_send():
    (get_body, get_length), head = (body_and_length(run_middleware("GET", b"/clinic", HTML, INDEX)),
                                    run_middleware("HEAD", b"/clinic", HTML, INDEX))
    assert int(dict(head[0]["headers"])[b"content-length"]) == get_length == len(get_body)


@pytest.mark.parametrize(("method", "path", "headers", "base"), [
    ("GET", b"/", HTML, ""),  # the root address
    ("GET", b"/outcomes", HTML, "outcomes"),
    ("POST", b"/worklist", HTML, ""),
    ("GET", b"/static/js/index.js", [(b"content-type", b"text/javascript")], ""),
    ("GET", b"/worklist", [*HTML, (b"content-encoding", b"gzip")], ""),  # already compressed
])
def test_everything_else_passes_untouched(method, path, headers, base):
    sent = run_middleware(method, path, headers, INDEX, base=base)
    assert sent[0]["headers"] == headers
    assert b"".join(m.get("body", b"") for m in sent[1:]) == INDEX


def test_a_websocket_passes_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    asyncio.run(BackendUrl(app)({"type": "websocket", "path": "/_stcore/stream", "raw_path": b"/_stcore/stream"},
                                None, None))
    assert seen == ["websocket"]


def test_install_adds_the_middleware_innermost_to_streamlits(monkeypatch):
    from streamlit.web.server.starlette import starlette_app

    from dashboard import backend_url

    monkeypatch.setattr(starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware)
    streamlit_own = [m.cls for m in starlette_app.create_streamlit_middleware()]
    assert backend_url.install()
    assert [m.cls for m in starlette_app.create_streamlit_middleware()] == [*streamlit_own, BackendUrl]


def test_a_streamlit_without_the_hook_still_starts(monkeypatch):
    from streamlit.web.server.starlette import starlette_app

    from dashboard import backend_url

    monkeypatch.delattr(starlette_app, "create_streamlit_middleware")
    assert backend_url.install() is False
