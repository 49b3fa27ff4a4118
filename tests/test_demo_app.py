"""The bundled Acme Back Office demo app, over HTTP and in real Chromium, and the example runbooks
that automate it."""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from demo_server import running_demo_app

EMAIL = "ops@acme.test"
PASSWORD = "demo"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
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


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_demo_app() as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=10) as http:
        yield http


def sign_in(client: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    return client.post("/login", data={"email": EMAIL, "password": password})


def test_the_root_redirects_to_the_login_page(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.is_redirect
    assert response.headers["location"] == "/login"


def test_the_health_check_answers_ok(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_the_login_page_offers_email_and_password_fields_and_a_sign_in_button(
    client: httpx.Client,
) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<label for="email">Email address</label>' in page.text
    assert re.search(
        r'<input id="email" type="email" name="email" placeholder="Email address"', page.text
    )
    assert '<label for="password">Password</label>' in page.text
    password_field = re.search(r'<input id="password"[^>]*>', page.text)
    assert password_field is not None
    for attribute in (
        'type="password"',
        'name="password"',
        'placeholder="Password"',
        'aria-label="Password"',
    ):
        assert attribute in password_field.group(0)
    assert '<button type="submit">Sign In</button>' in page.text
    assert 'role="alert"' not in page.text


def test_a_wrong_password_shows_an_error_and_sets_no_session(client: httpx.Client) -> None:
    response = sign_in(client, password="not-the-password")
    assert response.status_code == 200
    assert '<p id="login-error" class="error" role="alert">Invalid email or password</p>' in (
        response.text
    )
    assert f'value="{EMAIL}"' in response.text
    assert not client.cookies
    assert client.get("/dashboard").headers["location"] == "/login"


def test_an_empty_email_is_refused_even_with_the_right_password(client: httpx.Client) -> None:
    response = client.post("/login", data={"email": "  ", "password": PASSWORD})
    assert "Invalid email or password" in response.text
    assert not client.cookies


def test_the_right_password_reaches_the_dashboard_with_an_empty_orders_table(
    client: httpx.Client,
) -> None:
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "<h1>Dashboard</h1>" in dashboard.text
    assert f"Welcome back, <strong>{EMAIL}</strong>" in dashboard.text
    # The rows are JavaScript's job: the served table is hidden and its body empty.
    assert '<table id="orders" aria-label="Orders" hidden>' in dashboard.text
    assert "<tbody></tbody>" in dashboard.text
    assert '<select id="status-filter" name="status" aria-label="Status filter">' in dashboard.text
    assert '<option value="shp">Shipped</option>' in dashboard.text
    assert '<a id="export-csv" href="/export.csv" download>Download CSV</a>' in dashboard.text
    assert '<button id="sign-out" type="submit">Sign out</button>' in dashboard.text


def test_the_dashboard_without_a_session_cookie_redirects_to_login(client: httpx.Client) -> None:
    response = client.get("/dashboard")
    assert response.is_redirect
    assert response.headers["location"] == "/login"
    client.cookies.set("acme_session", "forged-token")
    assert client.get("/dashboard").headers["location"] == "/login"


def test_the_orders_api_needs_a_session_and_lists_eight_orders(client: httpx.Client) -> None:
    assert client.get("/api/orders").status_code == 401
    sign_in(client)
    orders: list[dict[str, Any]] = client.get("/api/orders").json()
    assert len(orders) == 8
    assert orders[0] == {
        "id": 1001,
        "customer": "Globex Corporation",
        "amount": 2136.36,
        "status": "shp",
        "statusLabel": "Shipped",
    }


def test_the_csv_export_is_an_attachment_with_a_header_and_eight_orders(
    client: httpx.Client,
) -> None:
    assert client.get("/export.csv").headers["location"] == "/login"
    sign_in(client)
    response = client.get("/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "customer", "amount", "status"]
    assert len(rows[1:]) == 8
    assert rows[1] == ["1001", "Globex Corporation", "2136.36", "Shipped"]


def test_signing_out_ends_the_session(client: httpx.Client) -> None:
    sign_in(client)
    assert client.get("/dashboard").status_code == 200
    token = client.cookies["acme_session"]
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    client.cookies.set("acme_session", token)
    assert client.get("/dashboard").headers["location"] == "/login"


def _chromium_executable() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    pytest.fail(f"no Chromium at {' or '.join(CHROMIUM_CANDIDATES)}: run `make install`")


def test_chromium_signs_in_sees_the_rendered_orders_filters_them_and_downloads_the_csv(
    base_url: str, tmp_path: Path
) -> None:
    import playwright.sync_api as sync_api

    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium_executable(), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(f"{base_url}/login")
            page.get_by_label("Email address").fill(EMAIL)
            page.get_by_placeholder("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign In").click()
            expect(page.get_by_role("table", name="Orders")).to_be_visible(timeout=10_000)
            assert page.url == f"{base_url}/dashboard"
            rows = page.locator("#orders tbody tr")
            expect(rows).to_have_count(8)
            expect(rows.first).to_contain_text("2136.36")
            page.get_by_label("Status filter").select_option(label="Shipped")
            expect(page.locator("#orders tbody tr:visible")).to_have_count(3)
            expect(page.locator("#order-count")).to_have_text("Showing 3 of 8 orders")
            shown = page.evaluate(
                "document.querySelectorAll('#orders tbody tr:not([hidden])').length"
            )
            assert shown == 3
            with page.expect_download() as download_info:
                page.locator("#export-csv").click()
            download = download_info.value
            assert download.suggested_filename == "orders.csv"
            saved = tmp_path / "orders.csv"
            download.save_as(saved)
            assert len(saved.read_text(encoding="utf-8").splitlines()) == 1 + 8
        finally:
            browser.close()


@pytest.mark.parametrize("name", ["login.yaml", "export-orders.yaml"])
def test_the_example_runbooks_are_complete_and_target_elements_the_demo_app_serves(
    name: str, client: httpx.Client
) -> None:
    import yaml

    runbook: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert {"title", "settings", "metadata", "steps"} <= runbook.keys()
    assert runbook["settings"]["baseUrl"] == "http://127.0.0.1:8090"
    metadata = runbook["metadata"]
    assert {"startUrl", "goal", "goalAchieved", "totalSteps", "generatedAt"} <= metadata.keys()
    steps: list[dict[str, Any]] = runbook["steps"]
    assert metadata["totalSteps"] == len(steps)
    assert [step["ordinal"] for step in steps] == list(range(len(steps)))
    for step in steps:
        assert {"description", "url", "riskLevel", "requiresConfirmation", "action"} <= step.keys()
        assert step["riskLevel"] in {"low", "medium", "high"}
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    used = set(re.findall(r"\{\{(\w+)\}\}", text)) - {"__extracted"}
    assert used <= runbook["variables"].keys()
    sign_in(client)
    pages = client.get("/login").text + client.get("/dashboard").text
    for step in steps:
        element_id = step["action"].get("selector", {}).get("id")
        if element_id:
            assert f'id="{element_id}"' in pages, f"step {step['ordinal']}: no #{element_id}"


def test_the_login_example_uses_only_navigate_input_click_and_wait() -> None:
    import yaml

    runbook = yaml.safe_load((EXAMPLES / "login.yaml").read_text(encoding="utf-8"))
    types = [step["action"]["type"] for step in runbook["steps"]]
    assert types == ["navigate", "input", "input", "click", "wait"]
    assert runbook["variables"]["password"]["sensitive"] is True
