"""`mediawatch serve`: the console on uvicorn, with the access rules checked before it starts."""

from __future__ import annotations

import ipaddress
from typing import Any

MIN_TOKEN_CHARS = 16


class ServeError(ValueError):
    """The server would not be safe or could not work as asked."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_access(host: str, token: str | None) -> list[str] | None:
    """The Host headers to accept (None = any); raise ServeError when binding is unsafe.
    An empty token is no token."""
    token = token or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ServeError(f"the service token must be at least {MIN_TOKEN_CHARS} characters long")
    if not is_loopback(host):
        if not token:
            raise ServeError(
                f"listening on {host} needs a token: set MEDIAWATCH_SERVICE_TOKEN "
                "(or service_token in mediawatch.toml), or keep the default --host 127.0.0.1"
            )
        return None
    if token:
        return None
    # loopback without a token: refuse other Host names (a DNS-rebinding page could else read)
    return ["127.0.0.1", "localhost", "::1", "[::1]"]


def serve(settings: Any, host: str, port: int, log: Any = print) -> None:
    import uvicorn

    from service.app import create_app
    from service.store_access import StoreBusy, StoreSource, StoreUnavailable

    token = settings.service_token or None
    trusted = check_access(host, token)
    try:
        with StoreSource(settings.db).read():
            pass
    except StoreUnavailable as exc:
        raise ServeError(str(exc)) from exc
    except StoreBusy:  # the server starts and answers 503 until the writer is done
        pass
    app = create_app(settings, token=token, trusted_hosts=trusted, warm=True)
    shown = f"[{host}]" if ":" in host else host
    log(
        f"Mediawatch console on http://{shown}:{port}/ (API: /api, schema: /api/openapi.json)"
        + (", token required" if token else "")
    )
    uvicorn.run(
        app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False
    )
