"""Whether the dashboard may serve at all: the rule the dashboard applies before any page and
the `outcomes dashboard` command applies before any port is opened (docs/access.md).

Without sign-in (local single-user mode) anyone who can reach the address sees every record,
so local mode serves only on a loopback address unless the settings' [access]
`allow_local_mode_on_network` says the network is private. Kept here, below both the dashboard
and the CLI, so the two refuse in the same words and neither imports the other.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from .settings import AccessSettings


def is_loopback(address: str | None) -> bool:
    """Only this computer can connect. An empty address makes Streamlit listen on every
    interface, so it is not loopback."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: other machines may resolve it to this one


def local_mode_refusal(address: str | None, access: AccessSettings) -> str | None:
    """Why local mode must not serve on `address`, or None when it may."""
    if is_loopback(address) or access.allow_local_mode_on_network:
        return None
    where = f"address {address!r}" if address else "every network interface (server.address is not set)"
    return (f"Refusing to serve: there is no sign-in configured (local single-user mode), and the dashboard "
            f"is listening on {where}, which other computers can reach. Serve on 127.0.0.1 "
            f"(`--server.address 127.0.0.1`, as `make run` does), configure sign-in (docs/access.md), or set "
            f"`allow_local_mode_on_network = true` under [access] in the settings file if this network is "
            f"private to you.")


def forwarded_clients(x_forwarded_for: list[str], forwarded: list[str]) -> list[str]:
    """The client addresses a reverse proxy says it forwards: every entry of the X-Forwarded-For
    headers and every `for=` of the Forwarded headers (RFC 7239: `for="[2001:db8::1]:4711"`), as
    bare addresses (no quotes, brackets or port); unreadable ones as they are written."""
    clients = [entry.strip() for value in x_forwarded_for for entry in value.split(",") if entry.strip()]
    for value in forwarded:
        for element in value.split(","):
            for pair in element.split(";"):
                name, _, text = pair.partition("=")
                if name.strip().lower() == "for" and text.strip():
                    clients.append(text.strip().strip('"'))
    return [_bare_address(client) for client in clients]


def _bare_address(text: str) -> str:
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text[1:]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def forwarded_refusal(x_forwarded_for: list[str], forwarded: list[str], access: AccessSettings) -> str | None:
    """Why local mode must not answer a request a reverse proxy forwarded for another computer,
    or None. The dashboard listening on 127.0.0.1 keeps other computers out only until a proxy
    on this computer passes their requests in (docs/access.md's nginx block, set up before
    sign-in is): then everyone on the network would be the local user. Any forwarded client
    that is not this computer is refused, unless the settings say the network is private."""
    if access.allow_local_mode_on_network:
        return None
    others = [client for client in forwarded_clients(x_forwarded_for, forwarded) if not is_loopback(client)]
    if not others:
        return None
    return (f"Refusing this request: a proxy forwarded it from {others[0]!r}, another computer, and there is no "
            f"sign-in configured (local single-user mode), so that computer would see every record as this "
            f"computer's user. Configure sign-in (docs/access.md), or set `allow_local_mode_on_network = true` "
            f"under [access] in the settings file if this network is private to you.")


def request_host(host_header: str) -> str:
    """The host name of an HTTP Host header, without its port and IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_refusal(host_header: str | None, allowed_hosts: tuple[str, ...] = ()) -> str | None:
    """Why a request naming the dashboard `host_header` must be refused, or None.

    DNS rebinding: a web page on another site, open in the clinician's browser, makes its own
    domain name resolve to 127.0.0.1 and then talks to the dashboard as if it were that site;
    the browser sends that name as the Host. A loopback name (`localhost`, `*.localhost`), an
    IP address (no page can rebind a name it does not own onto an address literal) or a name
    the settings allow is this dashboard; any other name is refused before a page runs. A
    request without a Host header comes from no browser and is not refused here.
    """
    if not host_header:
        return None
    host = request_host(host_header)
    if host == "localhost" or host.endswith(".localhost") or host in allowed_hosts:
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    return (f"Refusing this request: it addresses the dashboard as {host!r}, which is not this computer's "
            f"address nor a name the settings allow. A web page on another site may be trying to reach the "
            f"dashboard through its own domain name (DNS rebinding). Open the dashboard at http://localhost "
            f"(or its IP address), or add the name under [access] allowed_hosts (docs/access.md).")


def redirect_host(redirect_uri: str | None) -> str | None:
    """The host name of the sign-in `redirect_uri` (the public name users open), if any."""
    return (urlsplit(redirect_uri).hostname or None) if redirect_uri else None


def secrets_have_sign_in(folder: Path = Path(".")) -> bool:
    """An `[auth]` section in the secrets.toml Streamlit will read (the project's, else the user's)."""
    for path in (folder / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"):
        if path.is_file():
            try:
                if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                    return True
            except (OSError, tomllib.TOMLDecodeError):
                continue
    return False
