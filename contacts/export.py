"""`Export CSV`: the selected contacts, streamed in chunks so memory stays flat at any size."""

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import ContactTag
from kajaccess import spreadsheet
from purchases.access.states import AccessState, access_state_case, held_access_q
from purchases.models import ProductAccess, Subscription

HEADER = ["Name", "Email", "Tags", "Products", "Subscriptions"]


CHUNK_SIZE = 2000


def contact_rows(contacts: QuerySet) -> Iterator[list[str]]:
    now = timezone.now()
    contacts = contacts.order_by("pk")
    after = 0
    while True:
        chunk = list(contacts.filter(pk__gt=after).values_list("pk", "name", "email")[:CHUNK_SIZE])
        if not chunk:
            return
        after = chunk[-1][0]
        ids = [row[0] for row in chunk]
        tags = defaultdict(list)
        for contact_id, name in (
            ContactTag.objects.filter(contact_id__in=ids)
            .order_by("tag__name")
            .values_list("contact_id", "tag__name")
        ):
            tags[contact_id].append(name)
        products = defaultdict(dict)
        for contact_id, title, value in (
            ProductAccess.objects.filter(held_access_q(), grant__contact_id__in=ids)
            .order_by("product__title")
            .annotate(state=access_state_case(now))
            .values_list("grant__contact_id", "product__title", "state")
        ):
            state = AccessState(value)
            best = products[contact_id].get(title)
            if best is None or state.rank < best.rank:
                products[contact_id][title] = state
        subscriptions = defaultdict(list)
        for contact_id, offer, status, cancel_at in (
            Subscription.objects.filter(grant__contact_id__in=ids)
            .order_by("grant__offer__title")
            .values_list("grant__contact_id", "grant__offer__title", "status", "cancel_at")
        ):
            label = Subscription.Status(status).label
            if cancel_at and status in (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE):
                label = "Cancellation pending"
            subscriptions[contact_id].append(f"{offer}: {label}")
        for contact_id, name, email in chunk:
            yield [
                name,
                email,
                "; ".join(tags[contact_id]),
                "; ".join(f"{t} ({s})" for t, s in products[contact_id].items()),
                "; ".join(subscriptions[contact_id]),
            ]


def csv_lines(contacts: QuerySet) -> Iterator[str]:
    """The CSV, a few hundred lines at a time, for a StreamingHttpResponse."""
    return spreadsheet.csv_lines(HEADER, contact_rows(contacts))
