"""Settings > Team and the site switcher in a real Chromium: the owner invites an
assistant, who joins through the link in their email; a contractor works on two sites."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from kajaccess.actors import Actor
from kajaccess.models import SiteMembership, TeamEvent
from products.models import Offer
from purchases.access import services
from purchases.models import Grant
from tests.browser.pages import sign_in
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SiteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

NEW = "a-long-Pass-phrase-9"


@pytest.fixture
def academy():
    site = SiteFactory(name="Demo Academy", slug="demo")
    owner = MembershipFactory(site=site, user=UserFactory(email="casey@example.com"))
    ada = ContactFactory(site=site, name="Ada Lovelace", email="ada@example.com")
    vault = OfferFactory(
        site=site,
        title="Vault Membership",
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
        products=[ProductFactory(site=site, title="Community Vault")],
    )
    services.grant_offer(
        contact=ada, offer=vault, actor=Actor.creator(owner.user), source=Grant.Source.PURCHASE
    )
    return {"site": site, "owner": owner, "ada": ada}


def test_the_owner_invites_an_assistant_who_joins_through_the_link(
    page, live_server, academy, screenshot
):
    sign_in(page, live_server, "casey@example.com")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    purchases = f"{live_server.url}/contacts/{academy['ada'].pk}/purchases/"
    page.goto(purchases)
    expect(page.get_by_role("link", name="Cancel Payments")).to_be_visible()
    page.locator(".usermenu summary").click()
    page.get_by_role("link", name="Settings: Team").click()
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()

    page.get_by_label("Email").fill("val@example.com")
    page.get_by_label("Name").fill("Val Assistant")
    page.get_by_label("Role", exact=True).select_option(label="Assistant")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to val@example.com.")
    row = page.locator("tr", has_text="val@example.com")
    expect(row).to_contain_text("Invited")
    expect(row.get_by_role("button", name="Send invitation again")).to_be_visible()
    screenshot("team-invited")

    (message,) = mail.outbox
    link = re.search(r"(/accounts/invitation/\S+/)", message.body).group(1)
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{link}")
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password confirmation").fill(NEW)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page).to_have_url(f"{live_server.url}/contacts/")
    expect(page.get_by_role("status")).to_contain_text("Welcome to the team")
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(page.get_by_role("link", name="Settings: Team")).to_have_count(0)
    screenshot("team-joined")
    # An assistant sees no billing: no amounts and no Cancel Payments.
    page.goto(purchases)
    expect(page.get_by_role("heading", name="Vault Membership")).to_be_visible()
    expect(page.get_by_role("link", name="Cancel Payments")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("29.00")

    # The link worked once.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{link}")
    expect(page.get_by_role("heading", name="This invitation no longer works")).to_be_visible()
    sign_in(page, live_server, "val@example.com", NEW)
    expect(page).to_have_url(f"{live_server.url}/contacts/")


def test_the_owner_changes_a_role_and_suspends_in_the_popup(page, live_server, academy, screenshot):
    val = MembershipFactory(
        site=academy["site"],
        user=UserFactory(email="val@example.com"),
        role=SiteMembership.Role.ASSISTANT,
    )
    sign_in(page, live_server, "casey@example.com")
    page.goto(f"{live_server.url}/settings/team/")
    row = page.locator(f"#member-{val.pk}")
    row.get_by_label("Role of val@example.com").select_option(label="Administrator")
    row.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_contain_text(
        "val@example.com's role is now Administrator."
    )

    page.locator(f"#member-{val.pk}").get_by_role("link", name="Suspend").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Suspend val@example.com?")
    screenshot("team-suspend-popup")
    dialog.get_by_role("button", name="Suspend member").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    row = page.locator(f"#member-{val.pk}")
    expect(row).to_contain_text("Suspended")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()
    val.refresh_from_db()
    assert (val.role, val.status) == ("admin", "suspended")
    assert list(TeamEvent.objects.order_by("pk").values_list("kind", flat=True)) == [
        "role_changed",
        "suspended",
    ]


def test_a_member_of_two_sites_switches_between_them(page, live_server, screenshot):
    robin = UserFactory(email="robin@example.com")
    academy = MembershipFactory(user=robin, site=SiteFactory(name="Demo Academy"))
    school = MembershipFactory(
        user=robin, site=SiteFactory(name="Other School"), role=SiteMembership.Role.ASSISTANT
    )
    ContactFactory(site=academy.site, name="Ada Lovelace")
    ContactFactory(site=school.site, name="Grace Hopper")

    sign_in(page, live_server, "robin@example.com")
    table = page.locator("#contacts-table")
    expect(table.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)

    page.get_by_label("Site", exact=True).select_option(label="Other School")
    page.get_by_role("button", name="Switch site").click()
    expect(page.get_by_role("status")).to_contain_text("You are now working on Other School.")
    expect(page.locator(".brand__name")).to_have_text("Other School")
    expect(table.get_by_role("link", name="Grace Hopper")).to_be_visible()
    expect(table.get_by_role("link", name="Ada Lovelace")).to_have_count(0)
    screenshot("site-switched")

    # A role per site: an assistant at Other School has no Products tab there.
    tabs = page.get_by_role("navigation", name="Dashboard")
    expect(tabs.get_by_role("link", name="Products")).to_have_count(0)
    tabs.get_by_role("link", name="Offers").click()
    expect(page.locator(".brand__name")).to_have_text("Other School")
    page.get_by_label("Site", exact=True).select_option(label="Demo Academy")
    page.get_by_role("button", name="Switch site").click()
    expect(table.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)
    expect(tabs.get_by_role("link", name="Products")).to_be_visible()


def test_vera_of_the_demo_switches_between_her_two_sites(page, live_server, screenshot):
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", contacts=0, stdout=StringIO())
    sign_in(page, live_server, "va@example.com")
    expect(page.locator(".brand__name")).to_have_text("Demo Academy")
    table = page.locator("#contacts-table")
    expect(table.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    # A support specialist there: no bulk actions and no Offers tab.
    tabs = page.get_by_role("navigation", name="Dashboard")
    expect(tabs.get_by_role("link", name="Offers")).to_have_count(0)
    expect(page.get_by_role("group", name="Bulk actions")).to_have_count(0)

    page.get_by_label("Site", exact=True).select_option(label="Other School")
    page.get_by_role("button", name="Switch site").click()
    expect(page.locator(".brand__name")).to_have_text("Other School")
    # An assistant here: offers, but no Products tab.
    expect(tabs.get_by_role("link", name="Offers")).to_be_visible()
    expect(tabs.get_by_role("link", name="Products")).to_have_count(0)
    screenshot("vera-other-school")
