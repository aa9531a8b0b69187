"""Run the mock inside a test process: uvicorn in a background thread, on a free loopback port."""

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
    import uvicorn

    from mockserver.app import create_app
    from mockserver.serving import uvicorn_config

    # Bound here and handed to uvicorn: the port is ours from the start, so no other server can take it meanwhile.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    app = create_app(settings.replace(host=LOOPBACK, port=port))
    served = wrap(app) if wrap is not None else app
    server = uvicorn.Server(uvicorn_config(served, settings, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="collect-mock", daemon=True)
    thread.start()
    base_url = f"http://{LOOPBACK}:{port}"
    try:
        if not wait_until(lambda: answers(f"{base_url}/_mock/health"), timeout, thread.is_alive):
            raise RuntimeError(f"the Collect mock did not start at {base_url}")
        yield base_url, app
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()
