"""The browser set-up itself: the system Chromium opens the admin's login page and logs in."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


def test_the_admin_logs_in_in_a_real_browser(live_server: Any, page: Any, login: Any, superuser: Any) -> None:
    login(page, superuser)
    assert page.url.startswith(live_server.url)
    assert "/admin/login/" not in page.url
    assert page.locator("body").inner_text() != ""
