"""A stateful mock of the Collect (Finance & Billing) API, driven by its contract.

    from mockserver import Settings, create_app
    app = create_app(Settings(db=":memory:", seed=False))   # an ASGI app

`create_app` and `MockApp` load on first use, so that importing the package (as the pytest plugin does in every
client test session) stays cheap and free of the web stack's import-time warnings.
"""

from typing import Any

from mockserver.settings import Settings

__all__ = ["MockApp", "Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name in ("MockApp", "create_app"):
        from mockserver.testing import quiet_import_app

        quiet_import_app()
        from mockserver import app

        return getattr(app, name)
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
