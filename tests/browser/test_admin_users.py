"""The admin's Users page by keyboard alone: set a password, deactivate and activate a user."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import login
from sqlalchemy.orm import Session

import factories
from workbench.models import User


@pytest.mark.browser
def test_admin_manages_a_user_by_keyboard(page: Any, live: Any, store: Session) -> None:
    tag = uuid.uuid4().hex[:8]
    admin = factories.make_user(store, f"root-{tag}", "admin")
    target = factories.make_user(store, f"ana-{tag}")
    login(page, live, admin.username)
    page.goto(f"{live.url}/admin/users")
    field = page.get_by_label(f"New password for {target.username}")
    field.focus()
    page.keyboard.type("a-fresh-passphrase-42")
    page.keyboard.press("Tab")  # to the row's Set button
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == f"Set password of {target.username}"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"New password set for {target.username}" in page.locator(".flashes").inner_text()

    deactivate = page.get_by_role("button", name=f"Deactivate {target.username}")
    deactivate.focus()
    # The focused button shows a visible focus ring.
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"{target.username} is deactivated" in page.locator(".flashes").inner_text()
    store.expire_all()
    assert store.get(User, target.id).active is False

    page.get_by_role("button", name=f"Activate {target.username}").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    store.expire_all()
    assert store.get(User, target.id).active is True
