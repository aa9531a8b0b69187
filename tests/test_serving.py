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


def test_blank_lines_between_requests_do_not_keep_a_connection(server):
    """HTTP lets blank lines come before a request; they start none, so they must not hold a connection that uvicorn's
    keep-alive timer (stopped by any byte) would otherwise close."""
    _, port, _ = server
    with connect(port) as sock:
        sock.sendall(b"GET /batches/acme HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
        assert answer(sock)[0] == 200
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 4:
            try:
                sock.sendall(b"\r\n")
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            sock.settimeout(0.01)
            try:
                closed = sock.recv(1) == b""
            except (TimeoutError, BlockingIOError):
                pass
            except OSError:
                closed = True
            if closed:
                break
        assert closed and time.monotonic() - started < 2  # the header time (0.5 s), not uvicorn's 5 s or never


def test_blank_lines_before_a_first_request_do_not_keep_a_connection_either(server):
    _, port, _ = server
    with connect(port) as sock:
        started = time.monotonic()
        try:
            for _ in range(40):
                sock.sendall(b"\r\n")
                time.sleep(0.1)
        except OSError:
            pass
        assert answer(sock, timeout=3) == (0, "", b"") and time.monotonic() - started < 3


def test_an_answer_the_client_does_not_read_is_cut_off(server):
    """A client that asks and never reads would otherwise hold its connection (and the answer's memory) for ever."""
    base_url, port, _ = server
    table = [{"cell": "c" * 60_000} for _ in range(15)]  # a record of about 900 KB
    body = factory.batch(custom_field_values=[{"custom_field_id": "cf-1", "table_value": table}])
    created = httpx.post(f"{base_url}/batches/acme", json=body, headers={"Authorization": "Bearer dev-token"})
    path = f"/batches/acme/{created.json()['id']}".encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window stays small
    sock.connect(("127.0.0.1", port))
    with sock:
        asked = 20  # 18 MB of answers, far more than the kernel buffers on both sides
        sock.sendall((b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n") * asked)
        time.sleep(2.5)  # the body time is 0.5 s: the server gives up on this reader
        received, started = 0, time.monotonic()
        sock.settimeout(3)
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except OSError:
            pass
        assert received < asked * 900_000 / 2 and time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("head", "status", "fragment"),
    [
        (b"POST /batches/acme HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n", 501, "gzip, chunked"),
        (b"POST /batches/acme HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n", 501, "Transfer-Encoding 'gzip'"),
        (b"GET /batches/acme HTTP/1.1\r\n", 400, "no Host header"),
        (b"GET /batches/acme HTTP/1.1\r\nHost: x\r\nHost: y\r\n", 400, "2 Host headers"),
        (b"GET /batches/acme HTTP/1.1\r\nHost: a b\r\n", 400, "is not a host name"),
        (b"GET /batches/acme HTTP/2.0\r\nHost: x\r\n", 505, "not HTTP/2.0"),
        (b"GET /batches/acme HTTP/1.2\r\nHost: x\r\n", 505, "HTTP version"),
        (b"GET /batches/acme HTTP/0.9\r\nHost: x\r\n", 505, "not HTTP/0.9"),
    ],
    ids=["gzip-chunked", "gzip", "no-host", "two-hosts", "bad-host", "http-2.0", "http-1.2", "http-0.9"],
)
def test_what_the_mock_does_not_speak_is_refused_before_any_operation(server, head, status, fragment):
    base_url, port, app = server
    with connect(port) as sock:
        sock.sendall(head + AUTH + b"Content-Type: application/json\r\n\r\n" + b"0\r\n\r\n")
        problem(sock, status, fragment)


def test_http_1_0_is_served_with_or_without_a_host(server):
    _, port, _ = server
    for host in (b"", b"Host: x\r\n"):
        with connect(port) as sock:
            sock.sendall(b"GET /batches/acme HTTP/1.0\r\n" + host + AUTH + b"\r\n")
            status, head, _ = answer(sock)
        assert status == 200 and "connection: close" in head
