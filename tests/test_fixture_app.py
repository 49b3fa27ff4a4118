"""The fixture web application the runbook engine's tests run against: its server-side behaviours
over HTTP, and its pages' timed and logged behaviours in real Chromium."""

import csv
import io
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fixture_app.content import (
    EVIL_BODY,
    PRICE_TOTAL,
    PRODUCTS,
    TOTAL_TEXT,
    big_bytes,
    blob_bytes,
)
from fixture_app.server import running_fixture_app

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGES = (
    "/",
    "/selectors",
    "/forms",
    "/delayed",
    "/long",
    "/replaced",
    "/mutating",
    "/static",
    "/slow?ms=0",
    "/table",
    "/downloads",
    "/downloads/auto",
    "/console-error",
    "/navigate-target",
)


class _Elements(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.tags


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_fixture_app() as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


def test_every_page_answers_with_a_fixture_title_and_only_same_origin_assets(
    client: httpx.Client,
) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store"
        assert re.search(r"<title>Fixture: [^<]+</title>", response.text), path
        for _, attrs in _elements(response.text):
            for name in ("src", "href"):
                assert not (attrs.get(name) or "").startswith(("http:", "https:", "//")), path


def test_the_index_links_every_page(client: httpx.Client) -> None:
    links = {attrs["href"] for tag, attrs in _elements(client.get("/").text) if tag == "a"}
    linked_paths = {str(link).split("?")[0] for link in links}
    assert linked_paths == {path.split("?")[0] for path in PAGES} - {"/"}


def test_the_customer_name_input_is_tied_to_its_label_by_an_id_new_on_every_load(
    client: httpx.Client,
) -> None:
    ids = []
    for _ in range(2):
        tags = _elements(client.get("/selectors").text)
        label_for = next(attrs["for"] for tag, attrs in tags if tag == "label" and "for" in attrs)
        inputs = [attrs for tag, attrs in tags if tag == "input" and attrs.get("id") == label_for]
        assert len(inputs) == 1
        assert "name" not in inputs[0]
        assert "placeholder" not in inputs[0]
        ids.append(label_for)
    assert ids[0] != ids[1]


def test_the_selectors_page_gives_no_element_an_id_but_the_log_and_the_random_one(
    client: httpx.Client,
) -> None:
    ids = [attrs["id"] for _, attrs in _elements(client.get("/selectors").text) if "id" in attrs]
    assert len(ids) == 2
    assert ids[0] != "log"
    assert ids[1] == "log"


def test_the_slow_page_answers_after_the_requested_delay_and_refuses_over_30_s(
    client: httpx.Client,
) -> None:
    started = time.monotonic()
    response = client.get("/slow", params={"ms": 300})
    assert time.monotonic() - started >= 0.3
    assert '<span id="waited">300</span>' in response.text
    assert client.get("/slow", params={"ms": 30_001}).status_code == 400
    assert client.get("/slow", params={"ms": -1}).status_code == 400


def test_the_navigate_target_echoes_the_raw_query_escaped(client: httpx.Client) -> None:
    page = client.get("/navigate-target?from=index&q=%3Cb%3E&x=<i>").text
    assert "<h1>Arrived</h1>" in page
    assert '<code id="query">from=index&amp;q=%3Cb%3E&amp;x=%3Ci%3E</code>' in page


def test_the_csv_downloads_are_attachments_listing_the_products(client: httpx.Client) -> None:
    for name in ("report.csv", "auto-report.csv"):
        response = client.get(f"/files/{name}")
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["name", "price", "stock"]
        assert rows[1:] == [[p.name, str(p.price), str(p.stock)] for p in PRODUCTS]
        assert rows[2] == ["Cable tie", "4", "250"]


def test_the_binary_downloads_are_the_same_deterministic_bytes_every_time(
    client: httpx.Client,
) -> None:
    blob = client.get("/files/blob.bin")
    assert blob.headers["content-disposition"] == 'attachment; filename="blob.bin"'
    assert blob.content == blob_bytes()
    assert len(blob.content) == 64 * 1024
    big = client.get("/files/big.bin", params={"mb": 3})
    assert big.headers["content-disposition"] == 'attachment; filename="big.bin"'
    assert big.headers["content-length"] == str(3 * 1024 * 1024)
    assert big.content == big_bytes(3)
    assert client.get("/files/big.bin", params={"mb": 1025}).status_code == 400


def test_the_evil_download_suggests_a_path_traversal_file_name(client: httpx.Client) -> None:
    response = client.get("/files/evil")
    assert response.headers["content-disposition"] == 'attachment; filename="../../etc/passwd"'
    assert response.text == EVIL_BODY


def test_the_product_prices_summed_in_row_order_make_exactly_the_total(
    client: httpx.Client,
) -> None:
    total = 0.0
    for product in PRODUCTS:
        total += product.price
    assert total == PRICE_TOTAL
    assert f"Total: {total}" == TOTAL_TEXT
    page = client.get("/table").text
    assert '"price": 19.99' in page
    assert '"price": 4,' in page
    assert '"Total: 2136.36"' in page


def _chromium_executable() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    pytest.fail(f"no Chromium at {' or '.join(CHROMIUM_CANDIDATES)}: run `make install`")


def test_chromium_sees_the_logged_clicks_the_late_elements_the_replacements_and_the_downloads(
    base_url: str,
) -> None:
    import playwright.sync_api as sync_api

    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium_executable(), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.set_default_timeout(5_000)

            page.goto(f"{base_url}/selectors")
            page.mouse.click(660, 420)
            page.get_by_label("Customer name").fill("Ada Lovelace")
            page.get_by_role("button", name="Delete").click()
            page.get_by_text("Add user").click()
            expect(page.locator("#log")).to_have_text(
                "clicked: rect-target at 660,420\ninput: customer-name=Ada Lovelace\n"
                "clicked: delete-visible\nclicked: add-user"
            )

            page.goto(f"{base_url}/delayed")
            assert page.locator("#late").count() == 0
            expect(page.locator("#spinner-done")).to_be_visible()
            expect(page.locator("#spinner")).to_be_hidden()
            page.locator("#late").click()
            expect(page.locator("#log")).to_have_text("clicked: late")

            page.goto(f"{base_url}/replaced")
            held = page.query_selector("#unstable")
            assert held is not None
            page.wait_for_function("window.unstableReplacements >= 1")
            assert held.evaluate("node => node.isConnected") is False
            page.wait_for_function("window.targetReplaced")
            page.locator("#target-after-replace").click()
            expect(page.locator("#log")).to_have_text("clicked: target-after-replace")

            page.goto(f"{base_url}/downloads")
            with page.expect_download() as clicked:
                page.locator("#binary-button").click()
            assert clicked.value.suggested_filename == "blob.bin"
            assert Path(clicked.value.path()).read_bytes() == blob_bytes()

            with page.expect_download() as started:
                page.goto(f"{base_url}/downloads/auto")
            assert started.value.suggested_filename == "auto-report.csv"
        finally:
            browser.close()
