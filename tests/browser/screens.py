"""Every screen and state of KajAccess, once: where it is, how to get there, who sees it.

The accessibility walk (tests/browser/test_axe.py) visits each state in a real Chromium;
the HTML check (tests/test_html_valid.py) renders each page and each htmx partial the
states ask for. A new screen is one more `Screen` in SCREENS; a URL pattern that shows a
page and is neither here nor in EXCLUDED fails `test_every_page_is_in_the_registry`.

Paths are format strings filled from `prepare()`'s ids, e.g. "/contacts/{ada}/". Steps:
`Open(path)` clicks the control that asks htmx for `path` (a panel step; with
`dialog=True`, a popup), `Press(name)` a button, `Fill(label, value)` a field,
`CheckRows(n)` the first contacts of the table. A state reached by a change (a message
after a revoke) goes last, as it changes what the screens before it show.
"""

from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.timezone import localdate, now
from playwright.sync_api import Error

from contacts.bulk.pasted import pasted_selection_create
from contacts.imports.steps import import_start, import_upload, preview_token
from contacts.models import Contact
from kajaccess.actors import Actor
from kajaccess.keys.services import api_key_create
from kajaccess.models import SiteMembership
from products.models import Offer, Product
from purchases.access import services
from purchases.models import Automation, BulkAction, Grant, Subscription
from tests.browser.pages import popup
from tests.contacts.test_import_steps import TEN_ROWS
from tests.factories import checked_import, webhook_delivery_logged

CREATOR, ASSISTANT, CUSTOMER, NOBODY = (
    "creator@example.com",
    "team@example.com",
    "ada@example.com",
    None,
)


# Counts htmx's requests in flight and when the last one began or ended, in every page.
WATCH_HTMX = """
window.kajHtmx = {pending: 0, last: performance.now()};
for (const [event, change] of [["htmx:beforeRequest", 1], ["htmx:afterRequest", -1],
                               ["htmx:afterSettle", 0]]) {
  document.addEventListener(event, () => {
    window.kajHtmx.pending = Math.max(0, window.kajHtmx.pending + change);
    window.kajHtmx.last = performance.now();
  });
}
"""
IDLE = """(quiet) => {
  const watch = window.kajHtmx;
  return document.readyState === "complete"
    && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    && (!watch || (watch.pending === 0 && performance.now() - watch.last > quiet));
}"""


def watch_htmx(page) -> None:
    """Let `settle` see htmx's requests in every page `page` opens from now on."""
    page.add_init_script(WATCH_HTMX)


def settle(page, quiet_ms: int = 150) -> None:
    """Wait until htmx has been idle for `quiet_ms`, counted from now: nothing in flight,
    swapped or settling. A field whose request waits (`delay:400ms`) needs a longer quiet."""
    try:
        page.evaluate("() => window.kajHtmx && (window.kajHtmx.last = performance.now())")
    except Error:
        pass  # a page on its way out: the next one starts its own count at its load
    page.wait_for_function(IDLE, arg=quiet_ms)


class Step:
    """One thing a user does on the way to a state; `partial` is the htmx path it asks for."""

    def partial(self, ids: dict) -> str:
        return ""


@dataclass(frozen=True)
class Open(Step):
    """Click the visible control that asks for `path` (a panel step, a popup) and wait."""

    path: str
    dialog: bool = False

    def partial(self, ids: dict) -> str:
        return self.path.format_map(ids)

    def run(self, page, ids: dict) -> None:
        path = self.partial(ids)
        control = page.locator(
            ", ".join(
                f"{selector}:visible"
                for selector in (
                    f'[hx-get="{path}"]',
                    f'[hx-get^="{path}?"]',
                    f'a[href="{path}"]',
                    f'a[href^="{path}?"]',
                )
            )
        ).first
        control.click()
        if self.dialog:
            popup(page)
        settle(page)


@dataclass(frozen=True)
class Press(Step):
    """Press a button (or follow a link) by its accessible name, inside the popup if asked."""

    name: str
    role: str = "button"
    in_dialog: bool = False

    def run(self, page, ids: dict) -> None:
        scope = page.get_by_role("dialog") if self.in_dialog else page
        scope.get_by_role(self.role, name=self.name).first.click()
        settle(page)


@dataclass(frozen=True)
class Fill(Step):
    """Type into a field found by its label (a checkbox or radio is checked; a select picks)."""

    label: str
    value: str = ""
    choose: bool = False
    in_dialog: bool = False

    def run(self, page, ids: dict) -> None:
        scope = page.get_by_role("dialog") if self.in_dialog else page
        field = scope.get_by_label(self.label, exact=True).first
        if self.choose:
            field.select_option(label=self.value)
        elif self.value:
            field.fill(self.value)
        else:
            field.check()
        settle(page, quiet_ms=600)


@dataclass(frozen=True)
class Upload(Step):
    """Choose a file for the file field found by its label."""

    label: str
    file_name: str
    content: bytes

    def run(self, page, ids: dict) -> None:
        page.get_by_label(self.label, exact=True).set_input_files(
            files=[{"name": self.file_name, "mimeType": "text/csv", "buffer": self.content}]
        )


@dataclass(frozen=True)
class CheckRows(Step):
    """Check the first `count` contacts of the table for a bulk action."""

    count: int

    def run(self, page, ids: dict) -> None:
        boxes = page.locator("#contacts-table tbody input[name='ids']")
        for n in range(self.count):
            boxes.nth(n).check()
        settle(page)


@dataclass(frozen=True)
class Screen:
    """One state to check: the page at `url` as `who` sees it, after `steps`.

    `partials` are further htmx fragments of this screen for the HTML check, beyond those
    its `Open` steps ask for.
    """

    name: str
    who: str | None
    url: str
    steps: tuple = ()
    status: int = 200
    partials: tuple = ()

    def path(self, ids: dict) -> str:
        return self.url.format_map(ids)

    def fragments(self, ids: dict) -> list[str]:
        asked = [step.partial(ids) for step in self.steps]
        return [path for path in asked if path] + [p.format_map(ids) for p in self.partials]


# A file the import refuses: a cell that a spreadsheet would run as a formula.
FORMULA_CSV = b'Email,Name\nada@example.com,=HYPERLINK("http://evil.example")\n'
ADA_PANEL = "/contacts/?q=Ada"
IN_A_MONTH = (localdate() + timedelta(days=30)).isoformat()


def end_date_popup(name: str, offer_filter: str, offer: str) -> Screen:
    """`Set access end date` for three contacts of the table filtered by an offer."""
    return Screen(
        name,
        CREATOR,
        f"/contacts/?offer={offer_filter}",
        (
            CheckRows(3),
            Press("Set access end date"),
            Fill("Offer", offer, choose=True, in_dialog=True),
            Fill("Access ends on", IN_A_MONTH, in_dialog=True),
        ),
    )


PREVIEW = Open("/contacts/{ada}/preview/")
VIEW_MORE = Open("/contacts/{ada}/products/")
MORE_INFO = Open("/contacts/{ada}/products/{basics}/")
REVOKE_BASICS = Open(
    "/contacts/{ada}/grants/{bootcamp_grant}/products/{basics}/revoke/confirm/", True
)

SCREENS = (
    # Nobody signed in.
    Screen("sign-in", NOBODY, "/accounts/login/"),
    Screen(
        "sign-in-error",
        NOBODY,
        "/accounts/login/",
        (Fill("Email", "creator@example.com"), Fill("Password", "wrong"), Press("Sign in")),
    ),
    Screen("password-reset", NOBODY, "/accounts/password/reset/"),
    Screen("password-reset-sent", NOBODY, "/accounts/password/reset/sent/"),
    Screen("password-reset-link", NOBODY, "/accounts/reset/{uid}/{token}/"),
    Screen("password-reset-done", NOBODY, "/accounts/reset/done/"),
    Screen(
        "invitation-spent", NOBODY, "/accounts/invitation/MQ/cz1m0k-0123456789abcdef/", status=404
    ),
    # The creator, tab by tab.
    Screen("contacts", CREATOR, "/contacts/"),
    Screen("contacts-search", CREATOR, ADA_PANEL),
    Screen("contacts-last-page", CREATOR, "/contacts/?per_page=10&page=last"),
    Screen("contacts-page-link-refused", CREATOR, "/contacts/?page=not-a-page-link", status=400),
    Screen("preview", CREATOR, ADA_PANEL, (PREVIEW,)),
    Screen("view-more", CREATOR, ADA_PANEL, (PREVIEW, VIEW_MORE)),
    Screen("more-info", CREATOR, ADA_PANEL, (PREVIEW, VIEW_MORE, MORE_INFO)),
    Screen("revoke-popup", CREATOR, ADA_PANEL, (PREVIEW, VIEW_MORE, MORE_INFO, REVOKE_BASICS)),
    Screen(
        "restore-popup",
        CREATOR,
        ADA_PANEL,
        (
            PREVIEW,
            VIEW_MORE,
            Open("/contacts/{ada}/products/{advanced}/"),
            Open(
                "/contacts/{ada}/grants/{bootcamp_grant}/products/{advanced}/restore/confirm/", True
            ),
        ),
    ),
    Screen(
        "revoke-offer-popup",
        CREATOR,
        ADA_PANEL,
        (
            PREVIEW,
            VIEW_MORE,
            MORE_INFO,
            Open("/contacts/{ada}/grants/{bootcamp_grant}/revoke/confirm/", True),
        ),
    ),
    Screen(
        "access-dates-popup",
        CREATOR,
        ADA_PANEL,
        (
            PREVIEW,
            VIEW_MORE,
            MORE_INFO,
            Open("/contacts/{ada}/grants/{bootcamp_grant}/access-dates/edit/", True),
        ),
    ),
    Screen(
        "access-dates-page", CREATOR, "/contacts/{ada}/grants/{bootcamp_grant}/access-dates/edit/"
    ),
    Screen(
        "grant-offer-popup",
        CREATOR,
        ADA_PANEL,
        (PREVIEW, Open("/contacts/{ada}/grant-offer/choose/", True)),
    ),
    Screen("add-contact-popup", CREATOR, "/contacts/", (Open("/contacts/add/", True),)),
    Screen(
        "add-contact-taken-email",
        CREATOR,
        "/contacts/",
        (
            Open("/contacts/add/", True),
            Fill("Email", "ADA@example.com", in_dialog=True),
            Press("Add contact", in_dialog=True),
        ),
    ),
    Screen("add-contact-page", CREATOR, "/contacts/add/"),
    Screen(
        "edit-contact-popup", CREATOR, "/contacts/{ada}/", (Open("/contacts/{ada}/edit/", True),)
    ),
    Screen("edit-contact-page", CREATOR, "/contacts/{ada}/edit/"),
    Screen(
        "restore-offer-page", CREATOR, "/contacts/{grace}/grants/{grace_grant}/restore/confirm/"
    ),
    Screen(
        "revoke-page",
        CREATOR,
        "/contacts/{ada}/grants/{bootcamp_grant}/products/{basics}/revoke/confirm/",
    ),
    Screen("select-all-banner", CREATOR, "/contacts/", (Fill("Select all contacts on this page"),)),
    Screen(
        "bulk-preview-popup",
        CREATOR,
        "/contacts/?offer={bootcamp}&access=has_access",
        (
            CheckRows(3),
            Press("Revoke offer"),
            Fill("Offer", "Python Bootcamp", choose=True, in_dialog=True),
        ),
    ),
    end_date_popup("bulk-end-date-popup", "{bootcamp}&access=has_access", "Python Bootcamp"),
    # Where subscriptions of the selection still bill, the popup says billing is untouched.
    end_date_popup(
        "bulk-end-date-popup-still-billing", "{vault}&billing=active", "Vault Membership"
    ),
    Screen("paste-emails-popup", CREATOR, "/contacts/", (Open("/contacts/bulk/paste/", True),)),
    Screen("pasted-selection-banner", CREATOR, "/contacts/?pasted={pasted}"),
    Screen("import", CREATOR, "/contacts/import/"),
    Screen(
        "import-refused",
        CREATOR,
        "/contacts/import/",
        (Upload("File", "contacts.csv", FORMULA_CSV), Press("Upload")),
    ),
    Screen("import-columns", CREATOR, "/contacts/import/{import_unchecked}/"),
    Screen("import-preview", CREATOR, "/contacts/import/{import_checked}/"),
    Screen("import-started", CREATOR, "/contacts/import/{import_started}/"),
    Screen("import-bulk-action", CREATOR, "/bulk-actions/{import_bulk}/"),
    Screen("pasted-selection-searched", CREATOR, "/contacts/?pasted={pasted}&q=ada"),
    Screen("bulk-actions", CREATOR, "/bulk-actions/"),
    Screen("bulk-action", CREATOR, "/bulk-actions/{bulk}/"),
    Screen(
        "bulk-undo-popup",
        CREATOR,
        "/bulk-actions/{bulk}/",
        (Open("/bulk-actions/{bulk}/undo/confirm/", True),),
    ),
    Screen("products", CREATOR, "/products/"),
    Screen("progress-report", CREATOR, "/products/{basics}/progress/"),
    Screen("offers", CREATOR, "/offers/"),
    Screen("new-offer", CREATOR, "/offers/new/"),
    Screen(
        "edit-offer",
        CREATOR,
        "/offers/{bootcamp}/edit/",
        partials=("/offers/{bootcamp}/changes/?products={basics}",),
    ),
    Screen("delete-offer-popup", CREATOR, "/offers/", (Open("/offers/{bootcamp}/delete/", True),)),
    Screen("activity", CREATOR, "/activity/"),
    Screen("activity-page-link-refused", CREATOR, "/activity/?page=not-a-page-link", status=400),
    Screen(
        "progress-page-link-refused",
        CREATOR,
        "/products/{basics}/progress/?page=not-a-page-link",
        status=400,
    ),
    Screen("profile", CREATOR, "/contacts/{ada}/"),
    Screen("profile-products", CREATOR, "/contacts/{ada}/products/"),
    Screen("profile-more-info", CREATOR, "/contacts/{ada}/products/{basics}/"),
    Screen("profile-purchases", CREATOR, "/contacts/{ada}/purchases/"),
    Screen("profile-activity", CREATOR, "/contacts/{ada}/activity/"),
    Screen("subscription", CREATOR, "/subscriptions/{subscription}/"),
    Screen(
        "cancel-payments-popup",
        CREATOR,
        "/contacts/{ada}/purchases/",
        (Open("/subscriptions/{subscription}/cancel/", True),),
    ),
    Screen(
        "cancel-payments-error",
        CREATOR,
        "/contacts/{ada}/purchases/",
        (
            Open("/subscriptions/{subscription}/cancel/", True),
            Fill("On a custom date", in_dialog=True),
            Press("Cancel payments", in_dialog=True),
        ),
    ),
    Screen(
        "pause-payments-popup",
        CREATOR,
        "/contacts/{ada}/purchases/",
        (Open("/subscriptions/{subscription}/pause/", True),),
    ),
    Screen("automations", CREATOR, "/automations/"),
    Screen(
        "delete-automation-popup",
        CREATOR,
        "/automations/",
        (Open("/automations/{automation}/delete/", True),),
    ),
    Screen("team", CREATOR, "/settings/team/"),
    Screen(
        "suspend-member-popup",
        CREATOR,
        "/settings/team/",
        (Open("/settings/team/{member}/suspend/", True),),
    ),
    Screen(
        "remove-member-popup",
        CREATOR,
        "/settings/team/",
        (Open("/settings/team/{member}/remove/", True),),
    ),
    Screen(
        "transfer-ownership-popup",
        CREATOR,
        "/settings/team/",
        (Open("/settings/team/{administrator}/transfer/", True),),
    ),
    Screen("api-keys", CREATOR, "/settings/api-keys/"),
    Screen(
        "revoke-api-key-popup",
        CREATOR,
        "/settings/api-keys/",
        (Open("/settings/api-keys/{api_key}/revoke/", True),),
    ),
    Screen(
        "rotate-api-key-popup",
        CREATOR,
        "/settings/api-keys/",
        (Open("/settings/api-keys/{api_key}/rotate/", True),),
    ),
    Screen("webhooks", CREATOR, "/settings/webhooks/"),
    Screen("webhook-endpoint", CREATOR, "/settings/webhooks/{webhook_endpoint}/"),
    Screen(
        "remove-webhook-endpoint-popup",
        CREATOR,
        "/settings/webhooks/{webhook_endpoint}/",
        (Open("/settings/webhooks/{webhook_endpoint}/delete/", True),),
    ),
    Screen("password-change", CREATOR, "/accounts/password/change/"),
    Screen("password-changed", CREATOR, "/accounts/password/change/done/"),
    Screen("not-found", CREATOR, "/contacts/999999999/", status=404),
    # An assistant: their Contacts tab, and a tab their role may not open.
    Screen("assistant-contacts", ASSISTANT, "/contacts/"),
    Screen("forbidden", ASSISTANT, "/products/", status=403),
    # A customer.
    Screen("library", CUSTOMER, "/library/"),
    Screen("library-product", CUSTOMER, "/library/{basics}/"),
    Screen("lesson", CUSTOMER, "/library/{basics}/lessons/{lesson}/"),
    Screen("revoked-product", CUSTOMER, "/library/{advanced}/", status=404),
    # Last, as it changes what the screens above show: a change, and its message.
    Screen(
        "message-after-revoke",
        CREATOR,
        ADA_PANEL,
        (PREVIEW, VIEW_MORE, MORE_INFO, REVOKE_BASICS, Press("Revoke access", in_dialog=True)),
    ),
)

# URL names that show no page of their own, and why.
EXCLUDED = {
    "home": "redirects to the Contacts tab or the Library",
    "bulk:export": "a CSV download (its bare GET says what is missing)",
    "products:progress_csv": "a CSV download",
    "bulk:pasted_not_found": "a CSV download",
    "logout": "POST only",
    "contacts:import_invalid_rows": "a CSV download",
}


def prepare() -> dict:
    """The demo data with something for every screen; returns the ids the paths use.

    Besides the demo: an administrator who has joined (to whom the owner may hand the site), an automation, a pasted list of emails, a finished bulk action that revoked Grace Hopper's
    Python Bootcamp, and Ada Lovelace's Advanced Python revoked (her refusal, a restore).
    """
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    User = get_user_model()
    creator = User.objects.get(email=CREATOR)
    site = creator.memberships.get().site
    actor = Actor.creator(creator)
    ada = Contact.objects.get(site=site, email="ada@example.com")
    grace = Contact.objects.get(site=site, email="grace@example.com")
    bootcamp = Offer.objects.get(site=site, title="Python Bootcamp")
    products = {p.title: p for p in Product.objects.filter(site=site)}
    basics, advanced = products["Python Basics"], products["Advanced Python"]
    ada_grant = Grant.objects.get(contact=ada, offer=bootcamp)
    grace_grant = Grant.objects.get(contact=grace, offer=bootcamp)
    services.revoke_product(grant=ada_grant, product=advanced, actor=actor, reason="Refund")
    automation = Automation.objects.create(
        site=site,
        trigger=Automation.Trigger.OFFER_GRANTED,
        trigger_offer=bootcamp,
        action=Automation.Action.GRANT_OFFER,
        offer=Offer.objects.get(site=site, title="Coaching Plan"),
    )
    bulk = BulkAction.objects.create(
        site=site,
        created_by=creator,
        action="revoke_offer",
        params={"offer": bootcamp.pk},
        selection={"ids": [grace.pk]},
        status=BulkAction.Status.DONE,
        total=1,
        processed=1,
        changed=1,
        finished_at=now(),
    )
    services.revoke_grants(grant_ids=[grace_grant.pk], actor=actor, bulk_action=bulk)
    pasted = pasted_selection_create(
        site=site, user=creator, text="ada@example.com grace@example.com nobody@example.com"
    )
    imports = prepare_imports(site, creator)
    api_key = api_key_create(
        site=site,
        name="Stripe chargebacks",
        scopes=["read", "access"],
        expires_at=None,
        actor=actor,
    )
    return {
        **imports,
        "api_key": api_key.key.prefix,
        "webhook_endpoint": webhook_delivery_logged(site=site, actor=actor).endpoint_id,
        "pasted": pasted.pk,
        "uid": urlsafe_base64_encode(force_bytes(creator.pk)),
        "token": default_token_generator.make_token(creator),
        "ada": ada.pk,
        "grace": grace.pk,
        "bootcamp": bootcamp.pk,
        "vault": Offer.objects.get(site=site, title="Vault Membership").pk,
        "bootcamp_grant": ada_grant.pk,
        "grace_grant": grace_grant.pk,
        "basics": basics.pk,
        "advanced": advanced.pk,
        "lesson": basics.lessons.order_by("position").first().pk,
        "subscription": Subscription.objects.get(grant__contact=ada).pk,
        "automation": automation.pk,
        "bulk": bulk.pk,
        "member": SiteMembership.objects.get(site=site, user__email=ASSISTANT).pk,
        "administrator": SiteMembership.objects.create(
            site=site,
            user=User.objects.create_user(
                "admin@example.com",
                "admin@example.com",
                "kajaccess-demo",
                first_name="Alex",
                last_name="Admin",
                last_login=now(),
            ),
            role=SiteMembership.Role.ADMIN,
        ).pk,
    }


def prepare_imports(site, creator) -> dict:
    """Four files of ten rows (two of them bad): just uploaded, checked with an offer and a
    tag, imported, and the import's bulk action."""
    text = TEN_ROWS.encode()
    unchecked = import_upload(site=site, user=creator, name="customers.csv", data=text)
    trial = Offer.objects.get(site=site, title="30-Day Trial")
    choices = {"offer": trial, "tag": "Spring import"}
    checked = checked_import(site=site, user=creator, text=TEN_ROWS, **choices)
    started = checked_import(site=site, user=creator, text=TEN_ROWS, name="earlier.csv", **choices)
    bulk = import_start(contact_import=started, user=creator, token=preview_token(started))
    return {
        "import_unchecked": unchecked.pk,
        "import_checked": checked.pk,
        "import_started": started.pk,
        "import_bulk": bulk.pk,
    }


def check_status(response, screen: Screen) -> None:
    assert response is not None and response.status == screen.status, (
        f"{screen.name}: {screen.url} answered {response and response.status}, not {screen.status}"
    )


def reach(page, base_url: str, screen: Screen, ids: dict) -> None:
    """Go to the screen's page and take its steps; `page` is signed in as `screen.who`."""
    check_status(page.goto(base_url + screen.path(ids)), screen)
    settle(page)
    for step in screen.steps:
        step.run(page, ids)
