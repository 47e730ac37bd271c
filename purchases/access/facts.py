"""Access facts: kept by the services that change access and progress, in their transaction.

`refresh_access_facts` is the one writer. Given the contacts a change touched, it works
their facts out again from the source rows (grants, Products' accesses, completions) with
the same state tests the screens use (`purchases.access.states`), compares them with what
is stored, and writes only the difference: the contacts' own summary, their ProductHolder
and OfferHolder rows, and one change row per counter that moved. A fixed number of
queries for any number of contacts, so a bulk action's chunk refreshes in one go.

Time changes facts too: access that starts later, or ends, does so at an instant, not at
the next sweep. Each contact keeps the next such instant (`access_changes_at`, indexed),
and `catch_up_access_facts` refreshes the contacts whose instant has passed before a list
is read, so what a page shows is exact at the moment it is read.

The Progress report's chart counts grants and revokes of a Product per week: each
contact's share of it is kept as WeekHolder rows (from its audit rows) for the weeks the
chart shows, and their sum as ProductWeek change rows, so the chart reads a dozen rows
whatever the size of the site.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, DateField, F, Max, Q, Sum
from django.db.models.functions import TruncWeek
from django.dispatch import receiver
from django.utils import timezone
from fast_update.query import FastUpdateQuerySet

from contacts.models import Contact
from kajaccess.actors import ActorKind
from products.models import LessonCompletion
from products.signals import progress_changed
from purchases.access.states import AccessState, own_state_of, state_of
from purchases.models import (
    AccessEvent,
    AccessStatus,
    ContactStateCount,
    Grant,
    OfferCount,
    OfferHolder,
    ProductAccess,
    ProductCount,
    ProductHolder,
    ProductWeek,
    Subscription,
    WeekHolder,
)

CHUNK = 1000
SUMMARY_FIELDS = (
    "is_customer",
    "products_count",
    "has_revoked_access",
    "access_changes_at",
    "subscription_states",
)
# A bit of Contact.subscription_states for each state a subscription can be in.
SUBSCRIPTION_BITS = {status: 1 << i for i, status in enumerate(Subscription.Status.values)}
# Each counter of change rows, the key it counts by, and the fields it sums (the counters
# that `compact_access_counts` folds and `reconcile_access_facts` checks).
FOLDED = (
    (ProductCount, ("product_id", "access_rank", "lessons_done"), ("holders",)),
    (OfferCount, ("offer_id", "access_rank"), ("holders",)),
    (ContactStateCount, ("site_id", "state"), ("contacts",)),
    (ProductWeek, ("product_id", "week"), ("granted", "revoked")),
)
# Each kind of holder, its counter, and the key the counter counts by.
COUNTERS = (
    (ProductHolder, ProductCount, ("product_id", "access_rank", "lessons_done")),
    (OfferHolder, OfferCount, ("offer_id", "access_rank")),
)
CHART_WEEKS = 12
CHANGES = ("granted", "revoked")


def chart_mondays(now: datetime) -> list[date]:
    """The Mondays of the weeks the Progress report's chart shows, oldest first."""
    today = timezone.localtime(now).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=CHART_WEEKS - 1 - i) for i in range(CHART_WEEKS)]


@dataclass
class ContactFacts:
    """What the source rows say of one contact, as the facts store it."""

    is_customer: bool = False
    products_count: int = 0
    has_revoked_access: bool = False
    access_changes_at: datetime | None = None
    subscription_states: int = 0
    # product id: (access rank, lessons done, last completed at)
    products: dict[int, tuple[int, int, datetime | None]] = field(default_factory=dict)
    # offer id: access rank
    offers: dict[int, int] = field(default_factory=dict)
    # (product id, Monday): [grants, revokes] of the Product that week
    weeks: dict[tuple[int, date], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )

    def summary(self) -> tuple:
        return tuple(getattr(self, name) for name in SUMMARY_FIELDS)


def _next_change(grant: "_GrantRow", now: datetime) -> datetime | None:
    """The next instant at which the grant's access starts or ends, if one is still to come."""
    if grant.status != AccessStatus.ACTIVE:
        return None
    if grant.starts_at > now:
        return grant.starts_at
    if grant.expires_at is not None and grant.expires_at > now:
        return grant.expires_at
    return None


class _GrantRow(NamedTuple):
    """A grant as facts_of reads it: what the states module asks of a Grant, as a plain row.
    A chunk of a bulk action reads thousands, and model instances cost it more than the SQL."""

    pk: int
    contact_id: int
    offer_id: int
    status: str
    revoked_via: str
    starts_at: datetime
    expires_at: datetime | None

    def has_expired(self, now) -> bool:
        return Grant.has_expired(self, now)


class _AccessRow(NamedTuple):
    """A ProductAccess, likewise, with its grant."""

    product_id: int
    status: str
    revoked_via: str
    removed_at: datetime | None
    grant: _GrantRow


def facts_of(contact_ids: list[int], now: datetime) -> dict[int, ContactFacts]:
    """The facts of these contacts, from the source rows. Five queries."""
    facts = {pk: ContactFacts() for pk in contact_ids}
    # Unordered, each of them: a model's ordering would sort (and join) every chunk's rows.
    grants = (
        Grant.objects.filter(contact_id__any=contact_ids).order_by().values_list(*_GrantRow._fields)
    )
    grants_by_id = {}
    for grant in map(_GrantRow._make, grants):
        grants_by_id[grant.pk] = grant
        entry = facts[grant.contact_id]
        entry.is_customer = True
        rank = own_state_of(grant, now).rank
        entry.offers[grant.offer_id] = min(rank, entry.offers.get(grant.offer_id, rank))
        change = _next_change(grant, now)
        if change is not None and (
            entry.access_changes_at is None or change < entry.access_changes_at
        ):
            entry.access_changes_at = change
    accesses = (
        ProductAccess.objects.filter(grant_id__any=grants_by_id)
        .order_by()
        .values_list("grant_id", *_AccessRow._fields[:-1])
    )
    ranks: dict[int, dict[int, int]] = defaultdict(dict)
    # A grant's Products, taken out of its Offer since or not, as its audit rows count them.
    products_of: dict[int, list[int]] = defaultdict(list)
    for grant_id, *row in accesses:
        access = _AccessRow(*row, grants_by_id[grant_id])
        products_of[grant_id].append(access.product_id)
        if access.removed_at is not None:
            continue
        state = state_of(access, now)
        contact_id = access.grant.contact_id
        if state == AccessState.REVOKED:
            facts[contact_id].has_revoked_access = True
        held = ranks[contact_id]
        held[access.product_id] = min(state.rank, held.get(access.product_id, state.rank))
    progress = {
        (row["contact_id"], row["lesson__product_id"]): (row["done"], row["last"])
        for row in LessonCompletion.objects.filter(contact_id__any=ranks)
        .order_by()
        .values("contact_id", "lesson__product_id")
        .annotate(done=Count("pk"), last=Max("completed_at"))
    }
    active = AccessState.ACTIVE.rank
    for contact_id, held in ranks.items():
        entry = facts[contact_id]
        for product_id, rank in held.items():
            done, last = progress.get((contact_id, product_id), (0, None))
            entry.products[product_id] = (rank, done, last)
        entry.products_count = sum(1 for rank in held.values() if rank == active)
    _count_weeks(facts, products_of, now)
    subscriptions = Subscription.objects.filter(grant_id__any=grants_by_id).order_by()
    for grant_id, status in subscriptions.values_list("grant_id", "status"):
        facts[grants_by_id[grant_id].contact_id].subscription_states |= SUBSCRIPTION_BITS[status]
    return facts


def contact_states(summary: tuple | None) -> set[str]:
    """The states a contact's summary (SUMMARY_FIELDS) puts it in, as the counters name them."""
    if summary is None:
        return set()
    _, products_count, has_revoked_access, _, subscriptions = summary
    states = {f"billing_{s}" for s, bit in SUBSCRIPTION_BITS.items() if subscriptions & bit}
    if products_count:
        states.add("has_access")
    if has_revoked_access:
        states.add("revoked")
    return states


def _count_weeks(facts: dict[int, ContactFacts], products_of, now: datetime) -> None:
    """Each contact's grants and revokes per Product and week, from its audit rows.

    A grant or revoke of a whole Offer counts for each Product of its grant; revoking the
    Product alone counts too. Access that ran out was revoked by no one: left out.
    """
    kinds = AccessEvent.Kind
    start = timezone.make_aware(datetime.combine(chart_mondays(now)[0], time.min))
    events = (
        AccessEvent.objects.filter(
            contact_id__any=facts,
            at__gte=start,
            kind__in=[kinds.GRANTED, kinds.REVOKED, kinds.PRODUCT_REVOKED],
        )
        .exclude(actor_kind=ActorKind.EXPIRY)
        .order_by()
        .values_list(
            "contact_id",
            "grant_id",
            "product_id",
            "kind",
            TruncWeek("at", output_field=DateField()),
        )
    )
    for contact_id, grant_id, product_id, kind, monday in events:
        if kind == kinds.PRODUCT_REVOKED:
            products = [product_id] if product_id else []
        elif product_id is None:
            products = products_of.get(grant_id, [])
        else:
            continue
        column = CHANGES.index("granted" if kind == kinds.GRANTED else "revoked")
        for product in products:
            facts[contact_id].weeks[product, monday][column] += 1


@dataclass
class Stored:
    """The facts of some contacts as they are stored now."""

    summaries: dict[int, tuple]
    sites: dict[int, int]
    products: dict[tuple[int, int], tuple[int, tuple]]  # (contact, product): (pk, values)
    offers: dict[tuple[int, int], tuple[int, int]]  # (contact, offer): (pk, rank)
    weeks: dict[
        tuple[int, int, date], tuple[int, tuple]
    ]  # (contact, product, Monday): (pk, changes)


def _stored(
    summaries: dict[int, tuple], sites: dict[int, int], since: date | None = None
) -> Stored:
    """The stored facts of these contacts (their summaries and sites as read, locked, by the
    caller); of the weeks, those from `since` on."""
    ids = list(summaries)
    weeks = WeekHolder.objects.filter(contact_id__any=ids)
    if since is not None:
        weeks = weeks.filter(week__gte=since)
    products = {
        (c, p): (pk, (rank, done, last))
        for pk, c, p, rank, done, last in ProductHolder.objects.filter(
            contact_id__any=ids
        ).values_list(
            "pk", "contact_id", "product_id", "access_rank", "lessons_done", "last_completed_at"
        )
    }
    offers = {
        (c, o): (pk, rank)
        for pk, c, o, rank in OfferHolder.objects.filter(contact_id__any=ids).values_list(
            "pk", "contact_id", "offer_id", "access_rank"
        )
    }
    weeks = {
        (c, p, w): (pk, (g, r))
        for pk, c, p, w, g, r in weeks.values_list(
            "pk", "contact_id", "product_id", "week", *CHANGES
        )
    }
    return Stored(summaries, sites, products, offers, weeks)


@dataclass
class Difference:
    """What must be written for the stored facts to equal the source rows."""

    summaries: dict[int, ContactFacts] = field(default_factory=dict)
    products_added: list[ProductHolder] = field(default_factory=list)
    products_changed: list[ProductHolder] = field(default_factory=list)
    products_gone: list[int] = field(default_factory=list)
    offers_added: list[OfferHolder] = field(default_factory=list)
    offers_changed: list[OfferHolder] = field(default_factory=list)
    offers_gone: list[int] = field(default_factory=list)
    weeks_added: list[WeekHolder] = field(default_factory=list)
    weeks_changed: list[WeekHolder] = field(default_factory=list)
    weeks_gone: list[int] = field(default_factory=list)
    # (product, rank, lessons done): change in holders; (offer, rank): change in holders
    product_counts: Counter = field(default_factory=Counter)
    offer_counts: Counter = field(default_factory=Counter)
    # (product, Monday): change in [grants, revokes]
    week_counts: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    # (site, state): change in contacts
    state_counts: Counter = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return any(
            (self.summaries, self.products_added, self.products_changed, self.products_gone)
        ) or any(
            (self.offers_added, self.offers_changed, self.offers_gone)
            + (self.weeks_added, self.weeks_changed, self.weeks_gone)
        )

    def describe(self) -> list[str]:
        lines = [f"contact {pk}: summary {facts.summary()}" for pk, facts in self.summaries.items()]
        lines += [
            f"contact {h.contact_id}, product {h.product_id}: missing" for h in self.products_added
        ]
        lines += [
            f"contact {h.contact_id}, product {h.product_id}: differs"
            for h in self.products_changed
        ]
        lines += [f"product holder {pk}: should not exist" for pk in self.products_gone]
        lines += [f"contact {h.contact_id}, offer {h.offer_id}: missing" for h in self.offers_added]
        lines += [
            f"contact {h.contact_id}, offer {h.offer_id}: differs" for h in self.offers_changed
        ]
        lines += [f"offer holder {pk}: should not exist" for pk in self.offers_gone]
        lines += [
            f"contact {h.contact_id}, product {h.product_id}, week of {h.week}: "
            f"{'missing' if h.pk is None else 'differs'}"
            for h in self.weeks_added + self.weeks_changed
        ]
        lines += [f"week holder {pk}: should not exist" for pk in self.weeks_gone]
        return lines


def _difference(facts: dict[int, ContactFacts], stored: Stored) -> Difference:
    diff = Difference()
    wanted_products, wanted_offers, wanted_weeks = {}, {}, {}
    for contact_id, entry in facts.items():
        for (product_id, week), changes in entry.weeks.items():
            wanted_weeks[contact_id, product_id, week] = tuple(changes)
        if stored.summaries.get(contact_id) != entry.summary():
            diff.summaries[contact_id] = entry
        for product_id, values in entry.products.items():
            wanted_products[contact_id, product_id] = values
        for offer_id, rank in entry.offers.items():
            wanted_offers[contact_id, offer_id] = rank
    for (contact_id, product_id), values in wanted_products.items():
        rank, done, last = values
        old = stored.products.get((contact_id, product_id))
        if old is not None and old[1] == values:
            continue
        holder = ProductHolder(
            contact_id=contact_id,
            product_id=product_id,
            access_rank=rank,
            lessons_done=done,
            last_completed_at=last,
        )
        diff.product_counts[product_id, rank, done] += 1
        if old is None:
            diff.products_added.append(holder)
        else:
            holder.pk = old[0]
            diff.products_changed.append(holder)
            diff.product_counts[product_id, old[1][0], old[1][1]] -= 1
    for key, (pk, (rank, done, _)) in stored.products.items():
        if key not in wanted_products:
            diff.products_gone.append(pk)
            diff.product_counts[key[1], rank, done] -= 1
    for (contact_id, offer_id), rank in wanted_offers.items():
        old = stored.offers.get((contact_id, offer_id))
        if old is not None and old[1] == rank:
            continue
        holder = OfferHolder(contact_id=contact_id, offer_id=offer_id, access_rank=rank)
        diff.offer_counts[offer_id, rank] += 1
        if old is None:
            diff.offers_added.append(holder)
        else:
            holder.pk = old[0]
            diff.offers_changed.append(holder)
            diff.offer_counts[offer_id, old[1]] -= 1
    for key, (pk, rank) in stored.offers.items():
        if key not in wanted_offers:
            diff.offers_gone.append(pk)
            diff.offer_counts[key[1], rank] -= 1
    _weeks_difference(diff, wanted_weeks, stored.weeks)
    for contact_id, old in stored.summaries.items():
        entry = facts.get(contact_id)
        new = entry.summary() if entry is not None else None
        if new == old:
            continue
        was, now_in = contact_states(old), contact_states(new)
        site = stored.sites[contact_id]
        for state in now_in - was:
            diff.state_counts[site, state] += 1
        for state in was - now_in:
            diff.state_counts[site, state] -= 1
    return diff


def _weeks_difference(diff: Difference, wanted: dict, stored: dict) -> None:
    for key, changes in wanted.items():
        old = stored.get(key)
        if old is not None and old[1] == changes:
            continue
        contact_id, product_id, week = key
        holder = WeekHolder(contact_id=contact_id, product_id=product_id, week=week)
        holder.granted, holder.revoked = changes
        was = (0, 0) if old is None else old[1]
        counted = diff.week_counts[product_id, week]
        for i in range(len(CHANGES)):
            counted[i] += changes[i] - was[i]
        if old is None:
            diff.weeks_added.append(holder)
        else:
            holder.pk = old[0]
            diff.weeks_changed.append(holder)
    for key, (pk, was) in stored.items():
        if key not in wanted:
            diff.weeks_gone.append(pk)
            counted = diff.week_counts[key[1], key[2]]
            for i in range(len(CHANGES)):
                counted[i] -= was[i]


def _update(model, rows: list, fields) -> None:
    """UPDATE ... FROM VALUES: Django's bulk_update builds a CASE per row and field, which
    cost a chunk of 500 contacts seconds of Python."""
    FastUpdateQuerySet(model).fast_update(rows, fields)


def _write(diff: Difference) -> None:
    if diff.summaries:
        contacts = [
            Contact(pk=pk, **{n: getattr(f, n) for n in SUMMARY_FIELDS})
            for pk, f in diff.summaries.items()
        ]
        _update(Contact, contacts, SUMMARY_FIELDS)
    if diff.products_gone:
        ProductHolder.objects.filter(pk__any=diff.products_gone).delete()
    if diff.offers_gone:
        OfferHolder.objects.filter(pk__any=diff.offers_gone).delete()
    ProductHolder.objects.bulk_create(diff.products_added)
    OfferHolder.objects.bulk_create(diff.offers_added)
    if diff.products_changed:
        _update(
            ProductHolder,
            diff.products_changed,
            ["access_rank", "lessons_done", "last_completed_at"],
        )
    if diff.offers_changed:
        _update(OfferHolder, diff.offers_changed, ["access_rank"])
    ProductCount.objects.bulk_create(
        ProductCount(product_id=p, access_rank=r, lessons_done=d, holders=n)
        for (p, r, d), n in sorted(diff.product_counts.items())
        if n
    )
    OfferCount.objects.bulk_create(
        OfferCount(offer_id=o, access_rank=r, holders=n)
        for (o, r), n in sorted(diff.offer_counts.items())
        if n
    )
    if diff.weeks_gone:
        WeekHolder.objects.filter(pk__any=diff.weeks_gone).delete()
    WeekHolder.objects.bulk_create(diff.weeks_added)
    if diff.weeks_changed:
        _update(WeekHolder, diff.weeks_changed, CHANGES)
    ProductWeek.objects.bulk_create(
        ProductWeek(product_id=p, week=w, granted=g, revoked=r)
        for (p, w), (g, r) in sorted(diff.week_counts.items())
        if g or r
    )
    ContactStateCount.objects.bulk_create(
        ContactStateCount(site_id=site, state=state, contacts=n)
        for (site, state), n in sorted(diff.state_counts.items())
        if n
    )


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def refresh_access_facts(*, contact_ids: Iterable[int], now: datetime | None = None) -> None:
    """Make the facts of these contacts equal what their source rows say now.

    Runs in the caller's transaction, after the change: the contacts are locked (in
    primary-key order) first, so two changes to one contact refresh it one after the
    other, the second seeing the first. Writes nothing when nothing differs.
    """
    now = now or timezone.now()
    with transaction.atomic():
        for ids in _chunks(contact_ids):
            rows = list(
                Contact.objects.select_for_update(no_key=True)
                .filter(pk__any=ids)
                .order_by("pk")
                .values_list("pk", "site_id", *SUMMARY_FIELDS)
            )
            stored = _stored(*_summaries(rows), chart_mondays(now)[0])
            _write(_difference(facts_of(list(stored.summaries), now), stored))


def _summaries(rows) -> tuple[dict[int, tuple], dict[int, int]]:
    """Rows of (pk, site_id, *SUMMARY_FIELDS): the summaries and the sites, by contact."""
    return {pk: tuple(values) for pk, _, *values in rows}, {pk: site for pk, site, *_ in rows}


def forget_access_facts(*, contact_ids: Iterable[int]) -> None:
    """Before these contacts are deleted: their holders leave the counters with them.

    Deleting a contact deletes its grants and holder rows with it (a cascade), which no
    access service sees; this takes them out of the counters in the same transaction.
    """
    with transaction.atomic():
        for ids in _chunks(contact_ids):
            rows = list(
                Contact.objects.select_for_update(no_key=True)
                .filter(pk__any=ids)
                .order_by("pk")
                .values_list("pk", "site_id", *SUMMARY_FIELDS)
            )
            _write(_difference({}, _stored(*_summaries(rows))))


@receiver(progress_changed, dispatch_uid="access_facts_progress")
def refresh_progress(*, contact_id: int, **kwargs) -> None:
    """A lesson completed: the contact's lessons done in the Products' counters."""
    refresh_access_facts(contact_ids=[contact_id])


def catch_up_access_facts(*, site=None, now: datetime | None = None) -> int:
    """Refresh the contacts (of a site, or all) whose access started or ended since; how many.

    One indexed query when there are none, as on almost every read.
    """
    now = now or timezone.now()
    due = Contact.objects.filter(access_changes_at__lte=now)
    if site is not None:
        due = due.filter(site=site)
    total = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:CHUNK]):
        refresh_access_facts(contact_ids=ids, now=now)
        total += len(ids)
    return total


def compact_access_counts() -> int:
    """Fold the counters' change rows into one row per counter, and drop the weeks the chart
    no longer shows; how many rows were folded or dropped.

    Only the rows read are deleted, so a change committed meanwhile is kept for next time.
    """
    since = chart_mondays(timezone.now())[0]
    with transaction.atomic():
        folded = WeekHolder.objects.filter(week__lt=since).delete()[0]
        folded += ProductWeek.objects.filter(week__lt=since).delete()[0]
    for model, key, sums in FOLDED:
        with transaction.atomic():
            rows = list(model.objects.select_for_update().values_list("pk", *key, *sums))
            width = len(key)
            if len(rows) <= len({row[1 : 1 + width] for row in rows}):
                continue
            totals: dict[tuple, list[int]] = {}
            for row in rows:
                total = totals.setdefault(row[1 : 1 + width], [0] * len(sums))
                for i, n in enumerate(row[1 + width :]):
                    total[i] += n
            ids = [row[0] for row in rows]
            for start in range(0, len(ids), CHUNK):
                model.objects.filter(pk__any=ids[start : start + CHUNK]).delete()
            model.objects.bulk_create(
                model(**dict(zip(key, values, strict=True)), **dict(zip(sums, n, strict=True)))
                for values, n in sorted(totals.items())
                if any(n)
            )
            folded += len(rows)
    return folded


def product_weeks(product_id: int, now: datetime | None = None) -> dict[date, tuple[int, int]]:
    """(grants, revokes) of a Product in each week the chart shows, by Monday. One query."""
    mondays = chart_mondays(now or timezone.now())
    weeks = dict.fromkeys(mondays, (0, 0))
    rows = (
        ProductWeek.objects.filter(product_id=product_id, week__gte=mondays[0])
        .order_by()
        .values_list("week")
        .annotate(*(Sum(name) for name in CHANGES))
    )
    for week, *changes in rows:
        if week in weeks:
            weeks[week] = tuple(changes)
    return weeks


def product_counts(product_ids: Iterable[int]) -> dict[int, Counter]:
    """Holders of each Product by (access rank, lessons done), from the counters. One query."""
    counts: dict[int, Counter] = {pk: Counter() for pk in product_ids}
    rows = (
        ProductCount.objects.filter(product_id__in=list(counts))
        .order_by()
        .values_list("product_id", "access_rank", "lessons_done")
        .annotate(n=Sum("holders"))
    )
    for product_id, rank, done, n in rows:
        if n:
            counts[product_id][rank, done] = n
    return counts


def offer_counts(offers, state: AccessState | None = None) -> dict[int, int]:
    """Contacts who hold these Offers (ids, or a query of them) in one state, or who hold or
    held them in any, by Offer, from the counters. One query."""
    rows = OfferCount.objects.filter(offer__in=offers)
    if state is not None:
        rows = rows.filter(access_rank=state.rank)
    rows = rows.order_by().values_list("offer_id").annotate(n=Sum("holders"))
    return {offer_id: n for offer_id, n in rows if n}


def lock_counters() -> None:
    """Hold off every counter change until this transaction ends (PostgreSQL; SQLite writes one at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {ProductCount._meta.db_table}, {OfferCount._meta.db_table}, "
                f"{ProductWeek._meta.db_table}, {ContactStateCount._meta.db_table} "
                "IN EXCLUSIVE MODE"
            )


def _totals(model, key: tuple[str, ...], *totals, since: date | None = None) -> dict:
    """Each key's totals, as a tuple; of the weeks, those from `since` on."""
    rows = model.objects.order_by()
    if since is not None:
        rows = rows.filter(week__gte=since)
    rows = rows.values_list(*key).annotate(*totals)
    return {tuple(row[: len(key)]): tuple(row[len(key) :]) for row in rows}


def _held_to(model, *, wanted: dict, describe, fix: bool, since: date | None = None) -> list[str]:
    """A counter (of FOLDED) held to what it should count: each key whose totals differ,
    described; with `fix`, a change row that makes them equal."""
    key, sums = next((key, sums) for counter, key, sums in FOLDED if counter is model)
    counted = _totals(model, key, *(Sum(name) for name in sums), since=since)
    differences = []
    zero = (0,) * len(sums)
    for values in sorted(wanted.keys() | counted.keys()):
        want, have = wanted.get(values, zero), counted.get(values, zero)
        if want == have:
            continue
        differences.append(describe(values, have, want))
        if fix:
            model.objects.create(
                **dict(zip(key, values, strict=True)),
                **{name: w - h for name, w, h in zip(sums, want, have, strict=True)},
            )
    return differences


def reconcile_access_facts(*, fix: bool = False, now: datetime | None = None) -> list[str]:
    """Every difference between the stored facts and the source rows; with `fix`, repaired.

    Walks every contact in chunks of primary keys, then holds the counters against the
    holder rows. An empty list means the facts are exact.
    """
    now = now or timezone.now()
    # Access that started or ended since is brought up to date as any read would: those
    # contacts are due, not different.
    catch_up_access_facts(now=now)
    differences: list[str] = []
    last = 0
    while True:
        with transaction.atomic():
            contacts = Contact.objects.filter(pk__gt=last).order_by("pk")
            if fix:
                contacts = contacts.select_for_update()
            rows = list(contacts.values_list("pk", "site_id", *SUMMARY_FIELDS)[:CHUNK])
            if not rows:
                break
            last = rows[-1][0]
            stored = _stored(*_summaries(rows), chart_mondays(now)[0])
            diff = _difference(facts_of(list(stored.summaries), now), stored)
            differences += diff.describe()
            if fix and diff:
                _write(diff)
    with transaction.atomic():
        if fix:
            lock_counters()
        for holder, counter, key in COUNTERS:
            # What the counter holds, against its holder rows counted.
            differences += _held_to(
                counter,
                wanted=_totals(holder, key, Count("pk")),
                describe=lambda values, have, want, counter=counter: (
                    f"{counter._meta.verbose_name} {values}: {have[0]} holders counted, "
                    f"{want[0]} hold it"
                ),
                fix=fix,
            )
        differences += _reconcile_weeks(chart_mondays(now)[0], fix)
        differences += _reconcile_states(fix)
    return differences


def _reconcile_states(fix: bool) -> list[str]:
    """The sites' state counters against their contacts' summaries."""
    bits = {
        f"bit_{s}": F("subscription_states").bitand(bit) for s, bit in SUBSCRIPTION_BITS.items()
    }
    tests = {"has_access": Q(products_count__gt=0), "revoked": Q(has_revoked_access=True)}
    tests |= {f"billing_{s}": Q(**{f"bit_{s}__gt": 0}) for s in SUBSCRIPTION_BITS}
    rows = (
        Contact.objects.annotate(**bits)
        .order_by()
        .values("site_id")
        .annotate(**{state: Count("pk", filter=test) for state, test in tests.items()})
    )
    return _held_to(
        ContactStateCount,
        wanted={(row["site_id"], state): (row[state],) for row in rows for state in tests},
        describe=lambda key, have, want: (
            f"site {key[0]}, {key[1]}: {have[0]} counted, {want[0]} are"
        ),
        fix=fix,
    )


def state_counts(site) -> Counter:
    """How many contacts of a site are in each state of `contact_states`. One query."""
    rows = (
        ContactStateCount.objects.filter(site=site)
        .order_by()
        .values_list("state")
        .annotate(n=Sum("contacts"))
    )
    return Counter(dict(rows))


def _reconcile_weeks(since: date, fix: bool) -> list[str]:
    """The weekly counters against the contacts' weeks, for the weeks the chart shows."""
    return _held_to(
        ProductWeek,
        wanted=_totals(WeekHolder, ("product_id", "week"), *(Sum(n) for n in CHANGES), since=since),
        describe=lambda key, have, want: (
            f"product {key[0]}, week of {key[1]}: {have} grants and revokes counted, {want} made"
        ),
        fix=fix,
        since=since,
    )
