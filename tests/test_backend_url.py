"""dashboard/backend_url.py: the script that tells Streamlit's frontend where the server is, and
the middleware that adds it to a page's HTML. The browser's side (no failed try, every page
drawn, at the root and behind a proxy's prefix) is in tests/test_e2e_browser.py and
tests/test_e2e_proxy.py."""

from __future__ import annotations

import asyncio

import pytest

from dashboard.backend_url import ETAG_SUFFIX, SCRIPT, BackendUrl, is_page_address, with_backend_url

INDEX = b'<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n  </head>\n</html>\n'


@pytest.mark.parametrize(("raw_path", "base", "page"), [
    (b"/worklist", "", True),
    (b"/data-quality", "", True),
    (b"/patient", "", True),  # (the query string is not part of the path)
    (b"/", "", False),  # the app's root address: the frontend's first try is right
    (b"", "", False),
    (b"/a/b", "", False),  # more than one segment: a proxy may have changed how many
    (b"/a%2Fb", "", False),  # an encoded slash, which a proxy in front may have decoded (2 segments here)
    (b"/..", "", False),
    (b"/outcomes/worklist", "outcomes", True),  # server.baseUrlPath
    (b"/outcomes/worklist", "/outcomes/", True),
    (b"/outcomes", "outcomes", False),  # the base path's root
    (b"/outcomesx/worklist", "outcomes", False),  # outside the base path
    (b"/worklist", "outcomes", False),
])
def test_only_a_page_address_gets_the_script(raw_path, base, page):
    assert is_page_address(raw_path, base) is page


def test_the_script_goes_first_in_head_and_holds_no_request_text():
    html = with_backend_url(INDEX)
    assert html.startswith(b'<!DOCTYPE html>\n<html lang="en">\n  <head><script>')
    assert html.replace(SCRIPT, b"") == INDEX
    assert with_backend_url(b"<p>no head</p>").startswith(SCRIPT)


def test_the_script_in_a_browser_takes_the_page_off_the_address():
    """The script's JavaScript, run by Chromium at addresses as a browser shows them."""
    from test_e2e_browser import CHROMIUM, sync_api

    if CHROMIUM is None:
        pytest.skip("no system Chromium")
    cases = {"http://clinic.test/worklist": "http://clinic.test/",
             "http://clinic.test/patient?patient=000123": "http://clinic.test/",
             "https://intranet.test:8443/outcomes/clinic": "https://intranet.test:8443/outcomes/",
             "http://clinic.test/": None}
    script = SCRIPT.decode().removeprefix("<script>").removesuffix("</script>")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.fulfill(status=200, content_type="text/html", body="<p>x</p>"))
            for address, expected in cases.items():
                page.goto(address)
                page.evaluate(script)
                assert page.evaluate("window.__streamlit ? window.__streamlit.BACKEND_BASE_URL : null") == expected
                page.evaluate("delete window.__streamlit")
        finally:
            browser.close()


def run_middleware(method: str, path: bytes, response_headers: list[tuple[bytes, bytes]], body: bytes, *,
                   base: str = "", chunks: int = 1, status: int = 200,
                   request_headers: list[tuple[bytes, bytes]] = (), extensions: dict | None = None,
                   seen: list[dict] | None = None) -> list[dict]:
    """What BackendUrl sends for one request, in front of an app that answers `body` in `chunks`
    (the scope the app was given is appended to `seen`)."""
    async def app(scope, receive, send):
        if seen is not None:
            seen.append(scope)
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
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

    scope = {"type": "http", "method": method, "path": path.decode(), "raw_path": path,
             "headers": list(request_headers), "extensions": extensions or {}}
    asyncio.run(BackendUrl(app, base_url_path=base)(scope, receive, send))
    return sent


HTML = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(INDEX)).encode()),
        (b"accept-ranges", b"bytes"), (b"etag", b'"1f"'), (b"cache-control", b"no-cache")]


def body_and_headers(sent: list[dict]) -> tuple[bytes, dict]:
    return b"".join(m.get("body", b"") for m in sent[1:]), dict(sent[0]["headers"])


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_page_address_gets_the_script_and_its_headers(chunks):
    body, headers = body_and_headers(run_middleware("GET", b"/worklist", HTML, INDEX, chunks=chunks))
    assert body == with_backend_url(INDEX)
    assert int(headers[b"content-length"]) == len(body)
    assert [k for k, _ in run_middleware("GET", b"/worklist", HTML, INDEX)[0]["headers"]].count(b"content-length") == 1
    # not the file's bytes: no ranges of it, and an ETag of its own
    assert b"accept-ranges" not in headers and headers[b"etag"] == f'"1f{ETAG_SUFFIX}"'.encode()
    assert headers[b"cache-control"] == b"no-cache"  # every other header as it was


def test_head_says_what_get_will_send():
    get_body, get_headers = body_and_headers(run_middleware("GET", b"/clinic", HTML, INDEX))
    _, head_headers = body_and_headers(run_middleware("HEAD", b"/clinic", HTML, INDEX))
    assert head_headers == get_headers and int(head_headers[b"content-length"]) == len(get_body)


def test_no_byte_range_and_no_pathsend_for_a_page_address():
    seen: list[dict] = []
    run_middleware("GET", b"/worklist", HTML, INDEX, seen=seen,
                   request_headers=[(b"range", b"bytes=0-100"), (b"if-range", b'"1f"'), (b"accept", b"text/html")],
                   extensions={"http.response.pathsend": {}, "other": {}})
    assert seen[0]["headers"] == [(b"accept", b"text/html")]
    assert seen[0]["extensions"] == {"other": {}}


@pytest.mark.parametrize(("method", "path", "headers", "status", "base"), [
    ("GET", b"/", HTML, 200, ""),  # the root address
    ("GET", b"/outcomes", HTML, 200, "outcomes"),
    ("GET", b"/a/b", HTML, 200, ""),
    ("POST", b"/worklist", HTML, 200, ""),
    ("GET", b"/static/js/index.js", [(b"content-type", b"text/javascript")], 200, ""),
    ("GET", b"/worklist", [*HTML, (b"content-encoding", b"gzip")], 200, ""),  # already compressed
    ("GET", b"/worklist", HTML, 206, ""),  # not a whole 200 answer
    ("GET", b"/worklist", HTML, 304, ""),
    ("GET", b"/worklist", HTML, 404, ""),
])
def test_everything_else_passes_untouched(method, path, headers, status, base):
    sent = run_middleware(method, path, headers, INDEX, base=base, status=status)
    assert sent[0]["headers"] == headers and sent[0]["status"] == status
    assert b"".join(m.get("body", b"") for m in sent[1:]) == INDEX


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
def test_other_scopes_pass_untouched(kind):
    seen = []

    async def app(scope, receive, send):
        seen.append((scope, receive, send))

    async def receive():
        return {}

    async def send(message):
        pass

    scope = {"type": kind, "path": "/worklist", "raw_path": b"/worklist"}
    asyncio.run(BackendUrl(app)(scope, receive, send))
    assert seen == [(scope, receive, send)]


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
