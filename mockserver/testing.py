"""Run the mock (or any ASGI app) inside a test process: uvicorn in a background thread, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from collect_process import LOOPBACK, answers, wait_until
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
def serve_in_thread(
    settings: Settings, timeout: float = 30, wrap: Callable[[MockApp], Any] | None = None
) -> Iterator[tuple[str, MockApp]]:
    """Yield (base_url, app) while the mock serves on a free port; stop it on exit.

    `wrap(app)`, if given, is the ASGI app served instead (the self-test's defective mock wraps the mock's).
    """
    quiet_import_app()
    from mockserver.app import create_app
    from mockserver.serving import uvicorn_config

    made: list[MockApp] = []

    def config(port: int) -> Any:
        app = create_app(settings.replace(host=LOOPBACK, port=port))
        made.append(app)
        served = wrap(app) if wrap is not None else app
        return uvicorn_config(served, settings, log_level="error", lifespan="on")

    def ready(base_url: str) -> bool:
        return answers(f"{base_url}/_mock/health")

    with serve_app(config, ready, timeout, name="collect-mock") as base_url:
        yield base_url, made[0]


@contextmanager
def serve_app(
    config: Callable[[int], Any], ready: Callable[[str], bool], timeout: float = 30, name: str = "server"
) -> Iterator[str]:
    """Serve the uvicorn `config(port)` makes (`uvicorn.Config`) in a background thread on a free loopback port;
    yield its base URL once `ready(base_url)` holds, and stop it on exit. Any ASGI app a test runs in its own
    process (the mock, the validating recorder, the tests' strangers) is served this way."""
    import uvicorn

    # Bound here and handed to uvicorn: the port is ours from the start, so no other server can take it meanwhile.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    base_url = f"http://{LOOPBACK}:{port}"
    try:
        server = uvicorn.Server(config(port))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
        thread.start()
        try:
            if not wait_until(lambda: ready(base_url), timeout, thread.is_alive):
                raise RuntimeError(f"{name} did not start at {base_url}")
            yield base_url
        finally:
            server.should_exit = True
            thread.join(timeout=timeout)
    finally:
        sock.close()
