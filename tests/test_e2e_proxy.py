"""End to end: docs/access.md's nginx block, as written there, in front of the real dashboard.

A clinic serves the dashboard to its network through a reverse proxy terminating HTTPS. The
test runs nginx (Debian's nginx-light, installed by `.ci/run`) with the documented server block,
its certificate and ports swapped for a self-signed test certificate and free ports, and opens
the pages in Chromium under the documented host name (mapped onto 127.0.0.1). It checks what a
clinic's users depend on: every page draws through the proxy (Streamlit's websocket passes),
with no error box, and Streamlit's scripts arrive gzipped (they leave Streamlit uncompressed:
about 5 MB on a first visit, a third of that gzipped, docs/access.md); and that local
single-user mode behind the proxy refuses a request forwarded for another computer. A second
nginx serves the dashboard under a prefix of its own (docs/access.md), where every page opened by
its own address must draw with no failed request (dashboard/backend_url.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO
from test_e2e_browser import (  # noqa: F401  (fixtures)
    CHROMIUM, ERROR_BOXES, SETTLED, database, failed_requests, free_port, streamlit_server, sync_api)

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
if NGINX is None and not os.environ.get("CI"):
    pytest.skip("no nginx (apt-get install nginx-light); .ci/run installs it", allow_module_level=True)

DOCS = (REPO / "docs" / "access.md").read_text(encoding="utf-8")
PAGES = {"worklist": "Patients shown", "clinic": "Response rate", "data-quality": "Ingest runs"}
PREFIX = "outcomes"  # a proxy serving the dashboard under a path of its own


def documented_server_block() -> str:
    blocks = re.findall(r"```nginx\n(.*?)```", DOCS, re.S)
    assert len(blocks) == 1, "docs/access.md has no single nginx example"
    return blocks[0]


def server_name(block: str) -> str:
    return re.search(r"^\s*server_name\s+(\S+);", block, re.M).group(1)


def with_test_values(block: str, port: int, upstream: int, certificate: Path, key: Path) -> str:
    """The documented block with this test's ports and certificate. Each swapped line must be in
    the docs as the test expects, so a changed example fails here."""
    swaps = [(r"^(\s*)listen 443 ssl;", rf"\g<1>listen 127.0.0.1:{port} ssl;"),
             (r"^(\s*)ssl_certificate\s+\S+;", rf"\g<1>ssl_certificate {certificate};"),
             (r"^(\s*)ssl_certificate_key\s+\S+;", rf"\g<1>ssl_certificate_key {key};"),
             (r"proxy_pass http://127\.0\.0\.1:8501;", f"proxy_pass http://127.0.0.1:{upstream};")]
    for pattern, replacement in swaps:
        block, found = re.subn(pattern, replacement, block, flags=re.M)
        assert found == 1, f"docs/access.md's nginx example no longer has {pattern!r}"
    return block


def nginx_conf(server_block: str, work: Path) -> str:
    """A whole nginx.conf around the server block: the process's own files in `work` (the test's
    scaffolding; a clinic's nginx has its own)."""
    temp = "\n".join(f"    {name}_temp_path {work / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\ndaemon off;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} info;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    access_log {work / 'access.log'};\n{temp}\n"
            f"{server_block}\n}}\n")


def self_signed(host: str, work: Path) -> tuple[Path, Path]:
    certificate, key = work / "test.pem", work / "test.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host}", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    return certificate, key


@contextlib.contextmanager
def nginx(server_block: str, work: Path):
    """nginx running `server_block` (its files in `work`) until the block ends."""
    conf = work / "nginx.conf"
    conf.write_text(nginx_conf(server_block, work))
    proxy = subprocess.Popen([NGINX, "-p", str(work), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (work / "nginx.pid").exists():
            assert proxy.poll() is None and time.monotonic() < deadline, proxy.stderr.read().decode()
            time.sleep(0.1)
        yield
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)


def under_a_prefix(block: str, upstream: int, prefix: str) -> str:
    """The documented block (with test values) serving the dashboard at https://host/<prefix>/ on
    the proxy's side only: nginx takes the prefix off before passing a request on (`proxy_pass`
    with a path), so Streamlit runs at its root and never learns of the prefix."""
    for old, new in ((r"location / {", f"location /{prefix}/ {{"),
                     (f"proxy_pass http://127.0.0.1:{upstream};", f"proxy_pass http://127.0.0.1:{upstream}/;")):
        assert block.count(old) == 1, old
        block = block.replace(old, new)
    return block


@pytest.fixture(scope="module")
def proxied(database, tmp_path_factory):
    """The dashboard (local single-user mode, on 127.0.0.1) behind nginx running the documented
    block, and behind a second nginx serving it under the prefix PREFIX; yields the address
    users open, (host name, port), and the second proxy's port."""
    work = tmp_path_factory.mktemp("proxy")
    upstream, port, prefixed_port = free_port(), free_port(), free_port()
    block = documented_server_block()
    host = server_name(block)
    certificate, key = self_signed(host, work)
    settings = work / "clinic.toml"
    settings.write_text(f'[access]\nallowed_hosts = ["{host}"]\n')  # the name users type (docs/access.md)
    env = {**os.environ, "OUTCOMES_DB": str(database), "OUTCOMES_CONFIG": str(settings)}
    prefixed = work / "prefixed"
    prefixed.mkdir()
    with (streamlit_server(upstream, env, work / "streamlit.log"),
          nginx(with_test_values(block, port, upstream, certificate, key), work),
          nginx(under_a_prefix(with_test_values(block, prefixed_port, upstream, certificate, key), upstream, PREFIX),
                prefixed)):
        yield host, port, prefixed_port


def test_the_documented_nginx_block_serves_every_page_gzipped(proxied):
    host, port, _ = proxied
    block = documented_server_block()
    encodings = visit_through(host, port)
    scripts = {url: sent for url, sent in encodings.items() if url.endswith(".js")}
    assert len(scripts) > 50  # Streamlit's bundle and its pages' element scripts
    assert sum(encoding == "gzip" for encoding, _ in scripts.values()) > 50
    # Those left plain are the ones the documented gzip_min_length leaves out, and no other.
    smallest = int(re.search(r"gzip_min_length (\d+);", block).group(1))
    plain = [url for url, (encoding, length) in scripts.items()
             if encoding != "gzip" and (length is None or int(length) >= smallest)]
    assert not plain, f"scripts not gzipped through the proxy: {plain[:5]}"


def test_local_mode_behind_the_proxy_refuses_another_computer(proxied, database):
    """Before sign-in is configured, the proxy would let every computer on the network in as the
    local user. A request the proxy forwards for another computer (here a client that came
    through one more proxy: nginx adds 127.0.0.1 after the address it was given) is refused,
    and shows no record."""
    from test_e2e_browser import a_patient_on_the_worklist

    host, port, _ = proxied
    patient = a_patient_on_the_worklist(database)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", f"--host-resolver-rules=MAP {host} 127.0.0.1"])
        try:
            context = browser.new_context(ignore_https_errors=True, extra_http_headers={"X-Forwarded-For": "10.1.2.3"})
            page = context.new_page()
            page.goto(f"https://{host}:{port}/patient?patient={patient}")
            page.get_by_text("a proxy forwarded it from '10.1.2.3'", exact=False).first.wait_for(timeout=90_000)
            page.wait_for_function(SETTLED, timeout=90_000)
            assert patient not in page.inner_text("body")
        finally:
            browser.close()


def test_the_dashboard_under_a_proxy_prefix_connects_at_once(proxied, database):
    """Served at https://host/outcomes/ by a proxy that takes the prefix off: every page, opened
    by its own address, draws, and its first try to reach the server is the right one (none
    fails, dashboard/backend_url.py), and no request leaves the prefix."""
    from test_e2e_browser import a_patient_on_the_worklist

    host, _, port = proxied
    patient = a_patient_on_the_worklist(database)
    # the prefix's root (the frontend's own first try is right), a page, a page with a query
    pages = {"": "Patients shown", "worklist": PAGES["worklist"], f"patient?patient={patient}": "Infusions so far"}
    urls = visit_through(host, port, pages, prefix=f"/{PREFIX}")
    outside = [url for url in urls if not url.startswith(f"https://{host}:{port}/{PREFIX}/")]
    assert not outside, f"requests outside the proxy's prefix: {outside[:5]}"


def visit_through(host: str, port: int, pages: dict[str, str] = PAGES,
                  prefix: str = "") -> dict[str, tuple[str, str | None]]:
    """Open each page at https://host:port<prefix>/ in a new private window (an empty cache: every
    script fetched), checking that it draws with no error box and no failed request; return
    each response's Content-Encoding and Content-Length by URL."""
    encodings: dict[str, tuple[str, str | None]] = {}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", f"--host-resolver-rules=MAP {host} 127.0.0.1"])
        try:
            for path, text in pages.items():
                context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 1000})
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                failed = failed_requests(page)
                page.on("response", lambda r: encodings.__setitem__(
                    r.url, (r.headers.get("content-encoding", ""), r.headers.get("content-length"))))
                page.goto(f"https://{host}:{port}{prefix}/{path}")
                page.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=90_000)
                page.wait_for_function(SETTLED, timeout=90_000)
                assert page.locator(ERROR_BOXES).count() == 0, page.locator(ERROR_BOXES).first.inner_text()
                assert not errors, errors
                assert not failed, f"{prefix}/{path}: requests that failed: {failed}"
                context.close()
        finally:
            browser.close()
    return encodings
