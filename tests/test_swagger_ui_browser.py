"""Swagger UI in a real browser (headless Chromium, driven over the DevTools protocol): the Servers select names
the running mock, the page names the development token, "Try it out" pre-fills no optional parameter, and
"Execute" reaches the mock. Skipped, with the reason shown, where Chromium is not installed."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from collect_process import ServerError, ServerProcess

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
OPERATION = "#operations-Invoices-getInvoice"


class Page:
    """One browser tab, over a DevTools websocket: `js(expression)` evaluates and returns the value."""

    def __init__(self, websocket: Any):
        self.websocket = websocket
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.websocket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.websocket.recv(timeout=30))
            if message.get("id") == number:
                assert "error" not in message, message
                return message.get("result", {})

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, seconds: float = 30) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"not true within {seconds} s: {expression}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Page]:
    binary = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if binary is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium): the browser check did not run")
    websockets = pytest.importorskip("websockets.sync.client", reason="the websockets package is not installed")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    flags += ["--disable-component-update", "--no-first-run", "--window-size=1280,1200"]
    profile = tmp_path_factory.mktemp("chromium-profile")
    chromium = ServerProcess([binary, *flags, f"--user-data-dir={profile}"], name="Chromium", output=subprocess.DEVNULL)
    chromium.argv += [f"--remote-debugging-port={chromium.port}", "about:blank"]
    with chromium.start():
        pages: list[str] = []

        def offers_a_page(base: str) -> bool:
            found = httpx.get(f"{base}/json/list", timeout=1).json()
            pages[:] = [p["webSocketDebuggerUrl"] for p in found if p["type"] == "page"]
            return bool(pages)

        try:
            chromium.wait_ready(offers_a_page, timeout=30)
        except ServerError as exc:
            raise AssertionError(f"Chromium started but offered no page to drive: {exc}") from None
        with websockets.connect(pages[0], max_size=2**25) as socket:
            page = Page(socket)
            page.call("Runtime.enable")
            yield page


def test_the_ui_in_a_browser_names_the_mock_and_token_and_prefills_no_projection(browser, mock_server):
    browser.call("Page.navigate", url=f"{mock_server}/ui/#/Invoices/getInvoice")
    browser.wait_for(f"document.querySelector('{OPERATION} .try-out__btn') !== null")
    servers = browser.js("Array.from(document.querySelectorAll('.servers select option')).map(o => o.value)")
    assert servers == [mock_server]
    assert "dev-token" in browser.js("document.querySelector('.info').innerText")

    browser.js(f"document.querySelector('{OPERATION} .try-out__btn').click()")
    browser.wait_for(f"document.querySelector('{OPERATION} .execute') !== null")
    values = browser.js(f"""Object.fromEntries(Array.from(document.querySelectorAll('{OPERATION} tr[data-param-name]'))
        .map(row => [row.getAttribute('data-param-name'), row.querySelector('select')
            ? Array.from(row.querySelector('select').selectedOptions).map(o => o.value)
            : row.querySelector('input')?.value]))""")
    assert values["fields"] == [] and values["consistentRead"] == ""  # nothing pre-filled
    assert values["tenantId"] == "acme"  # a required parameter keeps its example as a hint

    browser.js("window.ui.preauthorizeApiKey('knox-authorizer', 'dev-token')")
    browser.js(f"document.querySelector('{OPERATION} .execute').click()")
    status = browser.wait_for(
        f"document.querySelector('{OPERATION} .live-responses-table tbody .response-col_status')?.innerText"
    )
    body = browser.js(
        f"document.querySelector('{OPERATION} .live-responses-table .response-col_description pre')?.innerText"
    )
    assert status.strip() == "404" and "No invoice" in json.loads(body)["detail"]  # the mock answered
