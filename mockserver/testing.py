"""Run the mock inside a test process: uvicorn in a background thread, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from mockserver.settings import Settings

if TYPE_CHECKING:
    from mockserver.app import MockApp


def quiet_import_app() -> type:
    """Import the app, hiding the deprecation warnings its dependencies raise on import.

    A client project may run its tests with warnings as errors; warnings from our dependencies are not theirs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mockserver import app

    return app.MockApp


@contextmanager
def serve_in_thread(settings: Settings, timeout: float = 30) -> Iterator[tuple[str, MockApp]]:
    """Yield (base_url, app) while the mock serves on a free port; stop it on exit."""
    quiet_import_app()
    import uvicorn

    from mockserver.app import create_app
    from mockserver.serving import uvicorn_config

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings.replace(host="127.0.0.1", port=port))
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="collect-mock", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, timeout, thread)
        yield base_url, app
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()


def _wait_until_healthy(base_url: str, timeout: float, thread: threading.Thread) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{base_url}/_mock/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if not thread.is_alive():
                break
            time.sleep(0.05)
    raise RuntimeError(f"the Collect mock did not start at {base_url}")
