"""Run the mock under uvicorn in a background thread, on a free loopback port (see mockserver.testing)."""

from mockserver.testing import serve_in_thread as running

__all__ = ["running"]
