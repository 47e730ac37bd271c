"""Building, extending and resetting the demo: what `manage.py seed_demo` runs."""

import time
from collections.abc import Callable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Contact, ContactTag
from contacts.selectors import contacts_count
from contacts.services import add_tag, contacts_recount
from kajaccess.demo.catalogue import Catalogue, load_catalogue
from kajaccess.demo.customers import DAY, Customer, Storyteller
from kajaccess.demo.history import History
from kajaccess.demo.logins import DEMO_USERS, PASSWORD, ensure_users
from kajaccess.demo.named import (
    DEMO_ACADEMY,
    DEMO_SITES,
    OTHER_SCHOOL,
    build_demo_academy,
    build_other_school,
)
from kajaccess.models import Site
from products.models import LessonCompletion
from purchases.access.facts import CHUNK as FACTS_CHUNK
from purchases.access.facts import compact_access_counts, refresh_access_facts
from purchases.models import (
    AccessEvent,
    Grant,
    OfferHolder,
    Payment,
    ProductAccess,
    ProductHolder,
    Purchase,
    Subscription,
)

# Generated contacts are added this many at a time, each batch in one transaction: a run
# that is stopped keeps the batches it finished, and the next run adds the rest. Each
# batch's history is replayed once, so the bigger the batch, the fewer service calls.
BATCH = 100_000
# Contacts are written this many at a time while their batch is gathered.
CHUNK = 10_000

Report = Callable[[str], None]


def missing_contacts(site: Site, wanted: int) -> list[int]:
    """The numbers 1..wanted of generated contacts that do not exist yet."""
    existing = set(
        Contact.objects.filter(
            site=site, email__startswith="customer", email__endswith="@example.com"
        ).values_list("email", flat=True)
    )
    return [n for n in range(1, wanted + 1) if f"customer{n:06d}@example.com" not in existing]


def _create(catalogue: Catalogue, customers: list[Customer], now: datetime) -> list[Contact]:
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                site=catalogue.site,
                email=customer.email,
                name=customer.name,
                created_at=now - customer.joined * DAY,
                last_activity_at=(
                    None if customer.last_active is None else now - customer.last_active * DAY
                ),
            )
            for customer in customers
        ]
    )
    # Progress is the customer's own doing and changes no access: written as it is.
    LessonCompletion.objects.bulk_create(
        [
            LessonCompletion(
                contact=contact,
                lesson=catalogue.lessons[title][lesson],
                completed_at=now - day * DAY,
            )
            for contact, customer in zip(contacts, customers, strict=True)
            for title, lesson, day in customer.completions
        ]
    )
    for name, tag in catalogue.tags.items():
        tagged = [
            c.pk for c, customer in zip(contacts, customers, strict=True) if name in customer.tags
        ]
        add_tag(tag=tag, contact_ids=tagged, actor=catalogue.actor("owner"))
    return contacts


def add_generated_contacts(
    catalogue: Catalogue, missing: list[int], now: datetime, report: Report
) -> None:
    """Create the generated contacts of these numbers with their whole history."""
    started = time.monotonic()
    storyteller = Storyteller(catalogue, now)

    def progress(text: str) -> None:
        report(f"  {text} ({time.monotonic() - started:.0f} s)")

    for i in range(0, len(missing), BATCH):
        numbers = missing[i : i + BATCH]
        with transaction.atomic():
            history = History(catalogue, now)
            for j in range(0, len(numbers), CHUNK):
                customers = [storyteller.story(n) for n in numbers[j : j + CHUNK]]
                contacts = _create(catalogue, customers, now)
                for contact, customer in zip(contacts, customers, strict=True):
                    history.add(contact.pk, customer)
            history.replay(progress)
        done = i + len(numbers)
        progress(f"{done:,} of {len(missing):,} contacts")


def delete_demo() -> None:
    """Delete the demo schools with everything in them, and the demo logins."""
    sites = Site.objects.filter(slug__in=DEMO_SITES)
    with transaction.atomic():
        # Leaves first: each of these is one DELETE, whatever the number of rows.
        AccessEvent.objects.filter(site__in=sites).delete()
        Payment.objects.filter(subscription__grant__site__in=sites).delete()
        Subscription.objects.filter(grant__site__in=sites).delete()
        Purchase.objects.filter(grant__site__in=sites).delete()
        ProductAccess.objects.filter(grant__site__in=sites).delete()
        Grant.objects.filter(site__in=sites).delete()
        LessonCompletion.objects.filter(contact__site__in=sites).delete()
        ProductHolder.objects.filter(contact__site__in=sites).delete()
        OfferHolder.objects.filter(contact__site__in=sites).delete()
        ContactTag.objects.filter(contact__site__in=sites).delete()
        Contact.objects.filter(site__in=sites).delete()
        sites.delete()
        get_user_model().objects.filter(username__in=DEMO_USERS).delete()


def seed_demo(*, contacts: int, reset: bool, report: Report) -> str:
    """Build whatever of the demo is missing, with `contacts` generated contacts in all;
    returns the closing line. Running it again creates nothing twice.
    """
    if contacts < 0:
        raise CommandError("--contacts cannot be negative.")
    if reset:
        delete_demo()
        report("Deleted the demo schools and logins.")
    now = timezone.now()
    catalogue = None
    with transaction.atomic():
        users = ensure_users()
        academy = Site.objects.filter(slug=DEMO_ACADEMY).first()
        if academy is None:
            catalogue = build_demo_academy(users, now)
            academy = catalogue.site
            report("Created Demo Academy with its named customers.")
        if not Site.objects.filter(slug=OTHER_SCHOOL).exists():
            build_other_school(users, now)
            report("Created Other School.")
    started = time.monotonic()
    missing = missing_contacts(academy, contacts)
    if missing:
        add_generated_contacts(catalogue or load_catalogue(academy), missing, now, report)
    # Completions are written as they are, not through a service: the access facts of
    # every demo contact are worked out from what was written, a chunk at a time.
    demo = Contact.objects.filter(site__slug__in=DEMO_SITES)
    last = 0
    while ids := list(
        demo.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:FACTS_CHUNK]
    ):
        refresh_access_facts(contact_ids=ids)
        last = ids[-1]
    # The history wrote weeks that the charts no longer show, as the sweep would fold them.
    compact_access_counts()
    if missing:
        # Fresh statistics let the query planner pick the right indexes at any size.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # The contacts above were written straight into the table: the sites' totals are
    # counted again from them.
    for site in Site.objects.filter(slug__in=DEMO_SITES):
        contacts_recount(site=site)
    total = contacts_count(academy)
    return (
        f"Demo data ready: Demo Academy has {total:,} contacts "
        f"({len(missing):,} added in {time.monotonic() - started:.1f} s). "
        f"Every demo login's password is {PASSWORD}."
    )
