"""The whole stack on an S3-protocol store (moto on loopback): artifacts land in the bucket and
downloads redirect to short-lived presigned URLs minted by the artifact service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from minio import Minio
from moto.server import ThreadedMotoServer
from playwright.async_api import async_playwright, expect
from runwright_engine.browser import launch
from runwright_stack.stack import Stack
from support.console import sign_in
from support.runbooks import runbook
from support.sse import read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3_stack(s3: str) -> Iterator[Stack]:
    env = {
        "RUNWRIGHT_S3_ENDPOINT": s3,
        "RUNWRIGHT_S3_ACCESS_KEY": "testing",
        "RUNWRIGHT_S3_SECRET_KEY": "testing",
        "RUNWRIGHT_S3_BUCKET": "runwright-test",
    }
    with running_stack(env=env) as stack:
        yield stack


@pytest.fixture
def s3_api(s3_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=s3_stack.gateway_url,
        timeout=30,
        headers={"Authorization": f"Bearer {s3_stack.token}"},
    ) as client:
        yield client


def test_artifacts_go_to_the_bucket_and_downloads_redirect_to_presigned_urls(
    s3_stack: Stack,
    s3_api: httpx.Client,
    s3: str,
    fixture_url: str,
) -> None:
    api = s3_api
    document = runbook(
        [{"action": {"type": "download", "selector": {"id": "binary-button"}}}],
        start_url=f"{fixture_url}/downloads",
    )
    job_id = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    read_events(api, f"/api/v1/jobs/{job_id}/events")
    (item,) = api.get(f"/api/v1/jobs/{job_id}/artifacts").json()["items"]
    redirect = api.get(item["url"], follow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["cache-control"] == "no-store"
    location = redirect.headers["location"]
    query = parse_qs(urlparse(location).query)
    assert int(query["X-Amz-Expires"][0]) <= 900
    assert "attachment" in query["response-content-disposition"][0]
    body = httpx.get(location)
    assert body.status_code == 200
    assert len(body.content) == item["size"] == 64 * 1024
    client = Minio(s3, access_key="testing", secret_key="testing", secure=False)
    keys = [o.object_name for o in client.list_objects("runwright-test", recursive=True)]
    assert keys == [f"jobs/{job_id}/{item['id']}"]
    executor = s3_stack.service("executor-0").proc
    assert executor is not None
    environ = Path(f"/proc/{executor.pid}/environ").read_bytes()
    assert b"RUNWRIGHT_S3_SECRET_KEY" not in environ


async def test_the_console_shows_screenshots_stored_in_the_bucket(
    s3_stack: Stack, s3_api: httpx.Client, s3: str, demo_url: str
) -> None:
    """Thumbnails load from presigned URLs on the store's origin, which the console allows."""
    api = s3_api
    document = runbook(
        [{"action": {"type": "navigate", "url": f"{demo_url}/login"}}], start_url=demo_url
    )
    job_id = api.post("/api/v1/jobs", json={"runbook": document, "screenshots": True}).json()["id"]
    read_events(api, f"/api/v1/jobs/{job_id}/events")
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page(base_url=s3_stack.gateway_url)
        response = await page.goto("/console/jobs")
        assert response is not None
        assert (
            f"img-src 'self' data: blob: http://{s3}" in response.headers["content-security-policy"]
        )
        await sign_in(page, s3_stack.token, f"/console/jobs/{job_id}")
        thumbnail = page.locator("#artifacts .gallery img").first
        await expect(thumbnail).to_be_visible()
        await page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=await thumbnail.element_handle()
        )
        await browser.close()
