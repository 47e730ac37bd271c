"""Every dashboard page, and the Library, runs as many queries at 60 contacts as at 5.

PAGES is the table: issue 16's pages (kajaccess.scale.ISSUE_PAGES, what `make bench` times)
and the other pages of the dashboard. The demo is seeded with 5 generated customers (grants,
subscriptions, payments, tags, lesson completions, an audit trail), each page's queries are
counted, the site grows to 60 by copies of them (as `make bench` grows it) and each page is
counted again. A URL of the dashboard neither in PAGES nor in NOT_PAGES fails the test.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from kajaccess.demo.copies import grow_demo_academy, refresh_all_access_facts
from kajaccess.scale import ADMIN, ISSUE_PAGES, Page, World, page_url
from products.models import Product
from purchases.models import Grant, Subscription
from tests.test_security import CHANGING, patterns

pytestmark = pytest.mark.django_db

SMALL, LARGE = 5, 60

# The other pages of the dashboard and the Library, on Ada (a named customer) and hers.
OTHER_PAGES = {
    "Contact profile": Page("creator", "contacts:profile", ("ada",)),
    "Contact preview": Page("creator", "contacts:preview", ("ada",)),
    "View More": Page("creator", "contacts:products", ("ada",)),
    "More Info": Page("creator", "contacts:more_info", ("ada", "advanced")),
    "Purchases tab": Page("creator", "contacts:purchases", ("ada",)),
    "Contact Activity": Page("creator", "contacts:activity", ("ada",)),
    "Grant an offer": Page("creator", "contacts:grant_offer_form", ("ada",)),
    "Add contact": Page("creator", "contacts:add"),
    "Edit contact": Page("creator", "contacts:edit", ("ada",)),
    "Revoke, confirm": Page("creator", "contacts:revoke_confirm", ("ada", "grant")),
    "Access dates": Page("creator", "contacts:edit_access_dates_form", ("ada", "grant")),
    "Import": Page("creator", "contacts:import"),
    "Paste emails": Page("creator", "bulk:paste"),
    "Bulk actions": Page("creator", "bulk:history"),
    "New offer": Page("creator", "products:offer_create"),
    "Edit offer": Page("creator", "products:offer_edit", ("bootcamp",)),
    "Delete offer": Page("creator", "products:offer_delete", ("bootcamp",)),
    "Subscription": Page("creator", "billing:subscription", ("subscription",)),
    "Automations": Page("creator", "automations:list"),
    "Team": Page("creator", "team:list"),
    "API keys": Page("creator", "api_keys:list"),
    "Webhooks": Page("creator", "webhooks:list"),
    "Library, a Product": Page("customer", "library:product", ("advanced",)),
    "Library, a lesson": Page("customer", "library:lesson", ("advanced", "lesson")),
}
PAGES = {name: page for name, page in ISSUE_PAGES.items() if name != ADMIN} | OTHER_PAGES

# What is not a page of the site's data, by why.
NOT_PAGES = {
    # Signing in and out, passwords, invitations: nothing of the site's data on them (the
    # password change is in the table, as the floor of a signed-in page).
    "accounts": {"home", "login", "logout", "accept_invitation"}
    | {
        f"password_{name}"
        for name in ("reset", "reset_done", "reset_confirm", "reset_complete", "change_done")
    },
    # Changes (POST only): they answer with a redirect or a fragment, not a page to read.
    "changes": CHANGING,
    # A page of one bulk action, import, offer change, team member, key or endpoint: it
    # reads that one object, which the demo's generated customers do not have.
    "one object of another kind": {
        "bulk:detail",
        "bulk:undo_confirm",
        "bulk:export",
        "bulk:pasted_not_found",
        "contacts:import_detail",
        "contacts:import_invalid_rows",
        "contacts:revoke_product_confirm",
        "contacts:restore_confirm",
        "contacts:restore_product_confirm",
        "products:offer_changes",
        "billing:cancel",
        "billing:pause",
        "automations:delete",
        "team:suspend",
        "team:remove",
        "team:transfer",
        "api_keys:revoke",
        "api_keys:rotate",
        "webhooks:detail",
        "webhooks:delete",
    },
}


class Ids(World):
    """The issue's World, and Ada's objects for the other pages."""

    @classmethod
    def of(cls, site):
        world = super().of(site)
        ada = Contact.objects.get(site=site, email="ada@example.com")
        advanced = Product.objects.get(site=site, title="Advanced Python")
        world.ada = ada.pk
        world.advanced = advanced.pk
        world.lesson = advanced.lessons.order_by("position").first().pk
        world.grant = Grant.objects.filter(contact=ada, status="active").order_by("pk")[0].pk
        world.subscription = Subscription.objects.filter(grant__site=site).order_by("pk")[0].pk
        return world


def count_queries(site) -> dict[str, int]:
    world = Ids.of(site)
    User = get_user_model()
    signed_in = {}
    for who, email in (("creator", "creator@example.com"), ("customer", "ada@example.com")):
        signed_in[who] = Client()
        signed_in[who].force_login(User.objects.get(email=email))
    counted = {}
    for name, page in PAGES.items():
        url = page_url(page, world)
        with CaptureQueriesContext(connection) as queries:
            response = signed_in[page.who].get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, (name, url, response.status_code)
        counted[name] = len(queries)
    return counted


def test_every_page_runs_as_many_queries_at_60_contacts_as_at_5():
    call_command("seed_demo", contacts=SMALL, stdout=open("/dev/null", "w"))
    site = get_user_model().objects.get(email="creator@example.com").memberships.get().site
    small = count_queries(site)
    grow_demo_academy(site=site, contacts=LARGE, block=SMALL, report=lambda text: None)
    refresh_all_access_facts()
    assert site.contacts.filter(email__startswith="customer").count() == LARGE
    assert (
        Grant.objects.filter(site=site, contact__email__startswith="customer").count() > 2 * LARGE
    )
    large = count_queries(site)
    grown = {
        name: (small[name], large[name])
        for name in PAGES
        if not 0 <= small[name] - large[name] <= STRADDLING.get(name, 0)
        and small[name] != large[name]
    }
    assert grown == {}


# Two pages read with one query more on the small site than on the large one, whatever
# the size beyond (contacts/paging.py): sorted by Last activity, a page that holds both
# contacts with an activity and contacts without reads each kind along its own index; and
# the last page of a list that fits on one page is read again as the first.
STRADDLING = {"Contacts, by Last activity desc": 1, "Contacts, last page": 1}


def test_every_dashboard_url_is_a_page_of_the_table_or_said_why_not():
    counted = {page.url_name for page in PAGES.values()}
    excused = set().union(*NOT_PAGES.values())
    names = {name for name, _, _ in patterns()}
    assert names - counted - excused == set()
    # Nothing excused that is counted, nor a name that no longer exists.
    assert counted & excused == set()
    assert excused - names == set()
