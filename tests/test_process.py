"""`collect_process`: a server in a process group of its own, ready when its probe says so, and gone after stop()."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from collect_process import ServerError, ServerProcess, answers, free_port, wait_until

PY = sys.executable


def gone(pid: int) -> bool:
    """Whether no process has this pid any more (a zombie of ours is reaped by wait() elsewhere)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1].startswith("Z")


def http_server() -> ServerProcess:
    server = ServerProcess([PY, "-m", "http.server", "--bind", "127.0.0.1"], name="http.server")
    server.argv.append(str(server.port))
    return server


def test_a_server_is_ready_when_its_probe_holds_and_stop_ends_it():
    with http_server().start() as server:
        seconds = server.wait_ready(lambda base: answers(f"{base}/"), timeout=30)
        assert 0 < seconds < 30 and answers(f"{server.base_url}/")
        pid = server.pid
        assert os.getpgid(pid) == pid  # a process group of its own: Ctrl-C in a terminal does not reach it
        server.stop()
        assert server.process is not None and server.process.returncode is not None and gone(pid)


def test_stop_ends_what_the_server_forked_and_what_ignores_sigterm():
    script = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    with ServerProcess([PY, "-c", script], output=subprocess.PIPE).start() as server:
        assert server.process is not None and server.process.stdout is not None
        child = int(server.process.stdout.readline())
        started = time.monotonic()
        server.stop(grace=0.5)
        assert time.monotonic() - started < 10
        assert wait_until(lambda: gone(child), timeout=10) and gone(server.pid)


def test_a_server_that_dies_at_start_is_reported_with_its_output():
    server = ServerProcess([PY, "-c", "import sys; print('port in use', file=sys.stderr); sys.exit(3)"], name="it")
    with server.start(), pytest.raises(ServerError, match=r"it exited with status 3 before it was ready:\nport in use"):
        server.wait_ready(timeout=30)


def test_a_server_that_never_answers_is_reported_after_the_timeout():
    with ServerProcess([PY, "-c", "import time; time.sleep(60)"], name="silent").start() as server:
        with pytest.raises(ServerError, match="silent was not ready after 1 s"):
            server.wait_ready(timeout=1)
    assert gone(server.pid)


def test_the_temporary_log_goes_with_the_server():
    server = ServerProcess([PY, "-c", "print('hello')"]).start()
    assert server.process is not None and server.process.wait(timeout=30) == 0
    assert server.output_text() == "hello\n" and server.log_path is not None
    server.close()
    assert not server.log_path.exists()


def test_free_ports_are_free():
    port = free_port()
    assert 0 < port < 65536 and not answers(f"http://127.0.0.1:{port}/", timeout=0.5)
