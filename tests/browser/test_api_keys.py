"""Settings > API keys and the API's documentation in a real Chromium, laptop and phone."""

import pytest
from playwright.sync_api import expect

from tests.api.conftest import client_with
from tests.browser.pages import sign_in
from tests.factories import MembershipFactory, SiteFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1366, 390])
def test_the_owner_makes_a_key_copies_it_once_and_rotates_it(page, live_server, screenshot, width):
    page.set_viewport_size({"width": width, "height": 860})
    site = SiteFactory(name="Demo Academy", slug="demo")
    MembershipFactory(site=site, user=UserFactory(email="casey@example.com"))
    sign_in(page, live_server, "casey@example.com")
    page.goto(f"{live_server.url}/settings/api-keys/")
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("Stripe chargebacks")
    page.get_by_label("access — Grant, revoke and restore access").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The key “Stripe chargebacks”").input_value()
    assert client_with(secret).get("/api/v1/offers/").status_code == 200
    expect(page.locator("#api-keys")).to_contain_text("read, access")
    screenshot(f"api-keys-new-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("link", name="Rotate Stripe chargebacks").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Rotate key").click()
    expect(dialog.get_by_text("The old key works for 24 hours more.")).to_be_visible()
    rotated = dialog.get_by_label("New key").input_value()
    assert rotated != secret
    screenshot(f"api-keys-rotated-{width}")
    dialog.get_by_role("link", name="Done").click()
    page.reload()
    expect(page.get_by_text("Rotated, works until")).to_be_visible()
    page.reload()
    assert secret not in page.content() and rotated not in page.content()


def test_the_api_docs_render_under_the_strict_csp(page, live_server, screenshot):
    refused = []
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_role("heading", name="KajAccess API")).to_be_visible()
    expect(page.get_by_text("/api/v1/contacts/{contact_id}/grants/").first).to_be_visible()
    screenshot("api-docs")
    assert [text for text in refused if "Content Security Policy" in text] == []
