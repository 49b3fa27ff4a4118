"""Launching Chromium: Playwright's own build when installed, else the system package."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Browser, Playwright
from playwright.async_api import Error as PlaywrightError

CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # WebRTC only via the proxy
]
SYSTEM_CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def find_chromium(playwright: Playwright, configured: str = "") -> str | None:
    """The configured path, else Playwright's downloaded build, else a system Chromium."""
    if configured:
        return configured
    bundled = playwright.chromium.executable_path
    if bundled and Path(bundled).exists():
        return None
    for candidate in SYSTEM_CHROMIUM:
        if Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "no Chromium found: run `make install` (it installs Debian's chromium) "
        "or set RUNWRIGHT_CHROMIUM_PATH"
    )


async def launch(
    playwright: Playwright,
    *,
    configured: str = "",
    headless: bool = True,
    sandbox: bool | None = None,
) -> Browser:
    """Chromium with its sandbox on (renderers in their own user and pid namespaces, under a
    seccomp filter). ``sandbox=None`` means on unless we are root, where Chromium cannot have it:
    the CLI and tests on a developer's machine; the executor decides outright."""
    if sandbox is None:
        sandbox = os.geteuid() != 0
    args = list(CHROMIUM_ARGS)
    if not sandbox:
        args.append("--no-sandbox")
    try:
        return await playwright.chromium.launch(
            executable_path=find_chromium(playwright, configured),
            headless=headless,
            args=args,
            chromium_sandbox=sandbox,
        )
    except PlaywrightError as exc:
        if sandbox and "sandbox" in str(exc).lower():
            raise RuntimeError(
                "Chromium could not start its sandbox: it needs unprivileged user namespaces "
                "(a container's default seccomp profile refuses them; see deploy/README.md, "
                f'"Chromium\'s sandbox"): {str(exc).splitlines()[0]}'
            ) from exc
        raise
