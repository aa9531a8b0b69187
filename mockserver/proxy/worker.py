"""The checker process: the recorder's checks run beside the forwarding process, not in it.

In one process, a thread validating answers holds Python's lock on the interpreter while the event loop that
forwards requests waits for it, so every request would pay for the checks of the ones before it. Here the
forwarding process only hands each finished exchange to a bounded queue (`submit`, which never blocks: a full
queue means the exchange is counted as not checked) and asks for what the checks found (`ask`): the journal,
the drift, the recording. Commands travel on the same queue as the exchanges, so an answer reflects every
exchange submitted before the question.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from mockserver.proxy.exchange import Observation
from mockserver.proxy.settings import ProxySettings

logger = logging.getLogger(__name__)
START_SECONDS = 60.0
ASK_SECONDS = 60.0
POLL_SECONDS = 0.2


class CheckerGone(RuntimeError):
    """The checker process did not answer."""


class CheckerProcess:
    def __init__(self, settings: ProxySettings):
        context = multiprocessing.get_context("spawn")  # no fork of a process that may run threads
        self._inbox: Any = context.Queue(maxsize=settings.backlog)
        self._outbox: Any = context.Queue()
        self._process: BaseProcess = context.Process(
            target=serve, args=(settings, self._inbox, self._outbox), name="collect-proxy-checker", daemon=True
        )
        self._process.start()
        self._asking = threading.Lock()
        self._tokens = itertools.count()
        self.forwarded = 0
        self.unchecked = 0  # the queue was full: forwarded, not checked
        self.ask("ready", timeout=START_SECONDS)

    def submit(self, seen: Observation) -> None:
        self.forwarded += 1
        try:
            self._inbox.put_nowait(("seen", seen))
        except queue.Full:
            self.unchecked += 1

    def ask(self, command: str, *args: Any, timeout: float = ASK_SECONDS) -> Any:
        """Send a command behind every exchange submitted so far, and wait for its answer."""
        with self._asking:
            token = next(self._tokens)
            self._inbox.put((command, (token, self.forwarded, self.unchecked, *args)))
            deadline = time.monotonic() + timeout
            while True:
                try:
                    answered, result, error = self._outbox.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if not self._process.is_alive():
                        raise CheckerGone(f"the checker process ended (exit {self._process.exitcode})") from None
                    if time.monotonic() > deadline:
                        raise CheckerGone(
                            f"the checker process did not answer {command!r} in {timeout:.0f} s"
                        ) from None
                    continue
                if answered == token:
                    if error:
                        raise CheckerGone(f"the checker process failed on {command!r}: {error}")
                    return result

    def stop(self, timeout: float = 10.0) -> None:
        if self._process.is_alive():
            try:
                self.ask("stop", timeout=timeout)
            except CheckerGone:
                pass
            self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()  # it ignores SIGTERM (see `serve`)
            self._process.join(timeout)


def serve(settings: ProxySettings, inbox: Any, outbox: Any) -> None:
    """The checker process: check each exchange; answer each command in turn."""
    # Ctrl-C in a terminal reaches the whole process group, and so does a SIGTERM to the group (what
    # `collect_process.ServerProcess.stop` sends): the forwarding process stops and then asks for the summary, so
    # this one must outlive either signal. The forwarding process stops it (`CheckerProcess.stop`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from mockserver.testing import quiet_import_app

    quiet_import_app()  # the web stack's import-time warnings are not the user's
    from mockserver.proxy.commands import Commands

    commands = Commands(settings)
    while True:
        kind, payload = inbox.get()
        if kind == "seen":
            commands.check(payload)
            continue
        token, forwarded, unchecked, *args = payload
        try:
            result = commands.run(kind, forwarded, unchecked, *args)
            outbox.put((token, result, ""))
        except Exception as exc:  # noqa: BLE001 - the forwarding process reports it
            logger.exception("checker command %s failed", kind)
            outbox.put((token, None, f"{type(exc).__name__}: {exc}"))
        if kind == "stop":
            return
