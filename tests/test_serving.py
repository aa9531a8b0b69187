"""The server layer: slow or greedy clients are cut off, and every answer before an operation is chosen is a problem.

A mock with short limits (0.5 s for headers and bodies, 8 connections) serves these tests, so that each waits at
most a second or two; raw sockets send what no HTTP client library would.
"""

import re
import socket
import time

import httpx
import pytest

from collect_process import answers, wait_until
from mockserver import Settings
from mockserver.testing import serve_in_thread
from tests.support import factory

LIMITS = {"header_timeout": 0.5, "body_timeout": 0.5, "max_connections": 8}
AUTH = b"Authorization: Bearer dev-token\r\n"


@pytest.fixture(scope="module")
def server():
    settings = Settings(db=":memory:", seed=False, **LIMITS)
    with serve_in_thread(settings) as (base_url, app):
        yield base_url, int(base_url.rsplit(":", 1)[1]), app


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def answer(sock, timeout=5.0):
    """Status, headers and body of the answer on `sock`, read until the server closes or the body is complete."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: (\d+)", head, re.I)
        if length and len(body) >= int(length.group(1)):
            break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, head.decode("latin-1").lower(), body


def problem(sock, status, fragment):
    got, head, body = answer(sock)
    assert got == status, (got, head, body)
    assert "content-type: application/problem+json" in head
    assert fragment in body.decode()


def test_headers_that_do_not_arrive_in_time_are_a_408(server):
    _, port, _ = server
    with connect(port) as sock:
        sock.sendall(b"GET /batches/acme HTTP/1.1\r\nHost: x\r\n")  # and then nothing: the rest never comes
        started = time.monotonic()
        problem(sock, 408, "headers did not arrive within 0.5 s")
        assert time.monotonic() - started < 3


def test_a_trickle_of_header_bytes_does_not_keep_a_connection(server):
    _, port, _ = server
    with connect(port) as sock:
        started = time.monotonic()
        try:
            for byte in b"GET /batches/acme HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n":
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass  # closed on us, as it should be
        status, _, _ = answer(sock)
        assert status == 408 and time.monotonic() - started < 3


def test_a_body_that_does_not_arrive_in_time_is_a_408_and_stores_nothing(server):
    base_url, port, app = server
    with connect(port) as sock:
        body = b'{"name": "never finished", "business_unit_id": "bu"'
        sock.sendall(
            b"POST /batches/slow HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Type: application/json\r\n"
            b"Content-Length: 500\r\n\r\n" + body
        )
        problem(sock, 408, "body did not arrive within 0.5 s")
    assert app.state.db.count("slow", "batches") == 0


def test_an_idle_connection_is_closed_without_an_answer(server):
    _, port, _ = server
    with connect(port) as sock:
        assert answer(sock) == (0, "", b"")  # closed after the header timeout, nothing sent


def test_idle_connections_make_room_for_a_real_request(server):
    base_url, port, _ = server
    idle = [connect(port) for _ in range(20)]  # more than the 8 allowed, none sending anything
    try:
        time.sleep(0.1)
        response = httpx.get(f"{base_url}/batches/acme", headers={"Authorization": "Bearer dev-token"}, timeout=5)
        assert response.status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_when_every_connection_is_busy_a_new_one_gets_a_503_problem(server):
    _, port, _ = server
    busy = []
    try:
        for _ in range(8):  # requests in flight: headers sent, bodies still coming
            sock = connect(port)
            sock.sendall(
                b"POST /batches/acme HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{"
            )
            busy.append(sock)
        time.sleep(0.1)
        with connect(port) as extra:
            status, head, body = answer(extra)
        assert status == 503 and "retry-after: 1" in head and b"connections at once" in body
    finally:
        for sock in busy:
            sock.close()
        # The server notices the closes a moment later; the next test must not meet a full house.
        assert wait_until(lambda: answers(f"{server[0]}/_mock/health"), timeout=10)


@pytest.mark.parametrize(
    ("request_bytes", "status", "fragment"),
    [
        (b"GET /batches/acme?fields=" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URL is longer"),
        (b"GET /batches/acme HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 70_000 + b"\r\n\r\n", 431, "headers are longer"),
        (b"GARBAGE\r\n\r\n", 400, "not valid HTTP/1.1"),
        (b"GET /batches/acme HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n", 400, "not valid HTTP/1.1"),
    ],
    ids=["long-url", "long-headers", "not-http", "bad-content-length"],
)
def test_what_the_http_parser_refuses_is_a_problem(server, request_bytes, status, fragment):
    _, port, _ = server
    with connect(port) as sock:
        sock.sendall(request_bytes)
        problem(sock, status, fragment)


def test_ten_thousand_query_parameters_are_a_problem(server):
    _, port, _ = server
    query = b"&".join(b"a%d=1" % i for i in range(10_000))
    with connect(port) as sock:
        sock.sendall(b"GET /batches/acme?" + query + b" HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
        status, head, _ = answer(sock)
    assert status in (400, 414) and "application/problem+json" in head


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/ui/no-such-file.js", 404),
        ("GET", "/ui/../../etc/passwd", 404),
        ("GET", "/_mock/no-such-route", 404),
        ("PUT", "/_mock/health", 405),
        ("POST", "/openapi.json", 405),
    ],
)
def test_every_answer_outside_the_operations_is_a_problem_too(server, method, path, status):
    base_url, _, _ = server
    response = httpx.request(method, base_url + path, timeout=5)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_a_normal_request_after_all_this_is_served(server):
    base_url, _, _ = server
    response = httpx.post(
        f"{base_url}/batches/acme", json=factory.batch(), headers={"Authorization": "Bearer dev-token"}, timeout=5
    )
    assert response.status_code == 200
