"""A stateful mock of the Collect (Finance & Billing) API, driven by its contract.

from mockserver import Settings, create_app
app = create_app(Settings(db=":memory:", seed=False))   # an ASGI app
"""

from mockserver.app import MockApp, create_app
from mockserver.settings import Settings

__all__ = ["MockApp", "Settings", "create_app"]
