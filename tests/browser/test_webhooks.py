"""Settings > Webhooks in a real Chromium, laptop and phone."""

import pytest
from playwright.sync_api import expect

from kajaccess.actors import Actor
from purchases.models import WebhookEndpoint
from tests.browser.pages import sign_in
from tests.factories import MembershipFactory, SiteFactory, UserFactory, webhook_delivery_logged

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("width", [1366, 390])
def test_the_owner_adds_an_endpoint_copies_its_secret_and_reads_its_log(
    page, live_server, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 860})
    site = SiteFactory(name="Demo Academy", slug="demo")
    owner = MembershipFactory(site=site, user=UserFactory(email="casey@example.com")).user
    failed = webhook_delivery_logged(site=site, actor=Actor.creator(owner))
    sign_in(page, live_server, "casey@example.com")
    page.goto(f"{live_server.url}/settings/webhooks/")
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    page.get_by_label("Endpoint URL").fill("https://crm.example.com/kajaccess/hooks")
    page.get_by_label("contact.created").uncheck()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_role("textbox", name="The signing secret of https://crm.").input_value()
    assert secret == WebhookEndpoint.objects.get(url__startswith="https://crm.").secret
    screenshot(f"webhooks-new-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.get_by_role("link", name=f"Delivery log of {failed.endpoint.url}").click()
    expect(page.get_by_role("heading", name="Switched off")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("access.revoked")
    screenshot(f"webhook-endpoint-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("button", name="Turn on again").click()
    expect(page.get_by_text("is on again")).to_be_visible()
    page.get_by_role("button", name="Resend access.revoked evt_access_1").click()
    expect(page.get_by_text("is being sent again")).to_be_visible()
    page.reload()
    assert secret not in page.content()
    page.get_by_role("link", name="Remove endpoint").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Remove the endpoint")).to_be_visible()
    screenshot(f"remove-webhook-endpoint-{width}")
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth")
    dialog.get_by_role("button", name="Remove endpoint").click()
    expect(page.get_by_text("is removed: it is sent nothing more")).to_be_visible()
    assert not WebhookEndpoint.objects.filter(pk=failed.endpoint_id).exists()
