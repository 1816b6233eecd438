"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``) against pytest-django's
``live_server``. Playwright downloads no browser here; the system binary is passed as ``executable_path``.

Fixtures:
    browser         one headless Chromium per session (the system binary)
    page            a new page at 1280x800 in a fresh context per test
    login           ``login(page, user)``: logs ``user`` in through the admin's login form (password "pw")
    screenshot      ``screenshot(page, name)``: a full-page PNG under ``$CERTPORTAL_SCREENSHOT_DIR``
                    (``var/screenshots`` by default; test artefacts, never committed)

Without Chromium the tests skip, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from ca.tests.pki import require_executable

# Playwright's sync API keeps an asyncio loop running in the main thread; Django's async-safety guard would
# refuse the ORM calls the tests make next to the browser.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PASSWORD = "pw"

pytestmark = pytest.mark.external


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Not pytest-playwright: its fixture names (``device``) collide with the suite's."""
    chromium = os.environ.get("CHROMIUM_PATH") or require_executable("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def login(live_server: Any) -> Callable[[Any, AbstractBaseUser], None]:
    def log_in(page: Any, user: AbstractBaseUser) -> None:
        user.set_password(PASSWORD)
        user.save()
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state()

    return log_in


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    directory = Path(os.environ.get("CERTPORTAL_SCREENSHOT_DIR", "var/screenshots"))

    def take(page: Any, name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def superuser(db: None) -> AbstractBaseUser:
    return get_user_model().objects.create_superuser("admin-ui", "admin-ui@example.com", PASSWORD)
