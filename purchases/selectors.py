"""The read side of access: "does this customer have access" is answered here and only here."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import Contact, Tag
from kajaccess.actors import ActorKind
from kajaccess.models import Site
from products.models import LessonCompletion, Offer, Product

from .models import (
    AccessEvent,
    AccessStatus,
    Grant,
    Payment,
    ProductAccess,
    RevokedVia,
    Subscription,
)

ACCESS_REVOKED = "Access revoked"
LATEST_PAYMENTS = Subscription.LATEST_PAYMENTS


def current_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    """A ProductAccess that opens its Product now; `prefix` reaches it from another model."""
    now = now or timezone.now()
    return Q(
        **{
            f"{prefix}status": AccessStatus.ACTIVE,
            f"{prefix}removed_at__isnull": True,
            f"{prefix}grant__status": AccessStatus.ACTIVE,
            f"{prefix}grant__starts_at__lte": now,
        }
    ) & (
        Q(**{f"{prefix}grant__expires_at__isnull": True})
        | Q(**{f"{prefix}grant__expires_at__gt": now})
    )


def current_grant_q(prefix: str = "", now: datetime | None = None) -> Q:
    now = now or timezone.now()
    return Q(**{f"{prefix}status": AccessStatus.ACTIVE, f"{prefix}starts_at__lte": now}) & (
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now})
    )


def has_access(contact: Contact, product: Product, now: datetime | None = None) -> bool:
    return ProductAccess.objects.filter(
        current_access_q(now=now), grant__contact=contact, product=product
    ).exists()


def with_progress(products: QuerySet, contact: Contact) -> QuerySet:
    return products.annotate(
        lessons_total=Count("lessons", distinct=True),
        lessons_done=Count(
            "lessons__completions",
            filter=Q(lessons__completions__contact=contact),
            distinct=True,
        ),
    )


def library_products(contact: Contact, now: datetime | None = None) -> QuerySet:
    """The Products a customer can open now, with their progress."""
    accessible = ProductAccess.objects.filter(
        current_access_q(now=now), grant__contact=contact, product=OuterRef("pk")
    )
    return with_progress(
        Product.objects.filter(site=contact.site_id).filter(Exists(accessible)), contact
    ).order_by("title", "pk")


@dataclass
class ContactProduct:
    """One Product a contact holds or held, as View More shows it."""

    product: Product
    state: str  # "active", "revoked" or "expired"
    offers: list[Offer] = field(default_factory=list)
    lessons_done: int = 0
    lessons_total: int = 0

    @property
    def is_active(self) -> bool:
        return self.state == "active"


def _access_state(access: ProductAccess, now: datetime) -> str:
    grant = access.grant
    if access.status == AccessStatus.ACTIVE and grant.status == AccessStatus.ACTIVE:
        if grant.expires_at is not None and grant.expires_at <= now:
            return "expired"
        if grant.starts_at > now:
            return "scheduled"
        return "active"
    via = grant.revoked_via if grant.status == AccessStatus.REVOKED else access.revoked_via
    return "expired" if via == RevokedVia.EXPIRY else "revoked"


STATE_ORDER = {"active": 0, "scheduled": 1, "revoked": 2, "expired": 3}


def contact_products(contact: Contact, now: datetime | None = None) -> list[ContactProduct]:
    """Every Product the contact holds or held: active first, each with offers and progress.

    Runs three queries whatever the number of grants.
    """
    now = now or timezone.now()
    accesses = (
        ProductAccess.objects.filter(grant__contact=contact, removed_at__isnull=True)
        .select_related("product", "grant__offer")
        .order_by("product__title", "product_id", "grant_id")
    )
    by_product: dict[int, ContactProduct] = {}
    for access in accesses:
        state = _access_state(access, now)
        entry = by_product.get(access.product_id)
        if entry is None:
            entry = by_product[access.product_id] = ContactProduct(access.product, state)
        elif STATE_ORDER[state] < STATE_ORDER[entry.state]:
            entry.state = state
        if access.grant.offer not in entry.offers:
            entry.offers.append(access.grant.offer)
    if not by_product:
        return []
    totals = dict(
        Product.objects.filter(pk__in=by_product)
        .annotate(n=Count("lessons"))
        .values_list("pk", "n")
    )
    done = dict(
        LessonCompletion.objects.filter(contact=contact, lesson__product__in=by_product)
        .values("lesson__product")
        .annotate(n=Count("pk"))
        .values_list("lesson__product", "n")
    )
    for pk, entry in by_product.items():
        entry.lessons_total = totals.get(pk, 0)
        entry.lessons_done = done.get(pk, 0)
    return sorted(
        by_product.values(), key=lambda e: (STATE_ORDER[e.state], e.product.title.lower())
    )


def contact_grants(contact: Contact) -> QuerySet:
    """Every Grant of a contact, newest first, ready for access_status() and billing."""
    return (
        Grant.objects.filter(contact=contact)
        .select_related("offer", "granted_by", "revoked_by", "purchase", "subscription")
        .prefetch_related(
            Prefetch(
                "product_accesses",
                queryset=ProductAccess.objects.select_related("product", "revoked_by").order_by(
                    "product__title", "pk"
                ),
            ),
            Prefetch(
                "subscription__payments",
                queryset=Payment.objects.order_by("-at", "-pk")[:LATEST_PAYMENTS],
                to_attr="prefetched_latest_payments",
            ),
        )
        .order_by("-starts_at", "-pk")
    )


def product_grants(contact: Contact, product: Product) -> QuerySet:
    """The Grants through which a contact holds or held one Product (More Info)."""
    return contact_grants(contact).filter(
        product_accesses__product=product, product_accesses__removed_at__isnull=True
    )


@dataclass(frozen=True)
class AccessState:
    """What the Purchases tab says about a grant whose access is not whole."""

    label: str
    revoked_by: str
    reason: str = ""
    revoked_at: datetime | None = None


def revoked_by_label(via: str, user) -> str:
    if via == RevokedVia.AUTOMATION:
        return "Revoked by automation"
    if via == RevokedVia.SUPPORT:
        return "Revoked by our support team"
    if via == RevokedVia.CREATOR and user is not None:
        return f"Revoked by {user.email}"
    return "Revoked"


def access_status(grant: Grant, now: datetime | None = None) -> AccessState | None:
    """None while the grant's access is whole; else "Access revoked" and who did it.

    Access is not whole when the Offer or any of its Products was revoked, or when the
    grant has expired (even before the expiry sweep has recorded it).
    """
    now = now or timezone.now()
    if grant.status == AccessStatus.REVOKED:
        return AccessState(
            ACCESS_REVOKED,
            revoked_by_label(grant.revoked_via, grant.revoked_by),
            grant.revoke_reason,
            grant.revoked_at,
        )
    if grant.has_expired(now):
        return AccessState(ACCESS_REVOKED, "Revoked", "", grant.expires_at)
    revoked = [
        access
        for access in grant.product_accesses.all()
        if access.status == AccessStatus.REVOKED and access.removed_at is None
    ]
    if not revoked:
        return None
    latest = max(revoked, key=lambda access: access.revoked_at)
    return AccessState(
        ACCESS_REVOKED,
        revoked_by_label(latest.revoked_via, latest.revoked_by),
        latest.revoke_reason,
        latest.revoked_at,
    )


def billing_subscriptions(grant: Grant) -> list[Subscription]:
    """The subscription or payment plan of a grant that still takes money, if any."""
    subscription = getattr(grant, "subscription", None)
    return [subscription] if subscription is not None and subscription.is_billing else []


def offer_customer_counts(site) -> dict[int, int]:
    """Contacts with current access through each Offer of a site."""
    rows = (
        Grant.objects.filter(current_grant_q(), site=site)
        .values("offer")
        .annotate(n=Count("contact", distinct=True))
        .values_list("offer", "n")
    )
    return dict(rows)


def contacts_products_count(contact_ids, now: datetime | None = None) -> dict[int, int]:
    """`Total products`: the distinct Products each contact can open now."""
    rows = (
        ProductAccess.objects.filter(current_access_q(now=now), grant__contact__in=contact_ids)
        .values("grant__contact")
        .annotate(n=Count("product", distinct=True))
        .values_list("grant__contact", "n")
    )
    counts = defaultdict(int, rows)
    return counts


# --- Products tab and the Product Progress report ------------------------------------

# A customer's state for one Product, best first: the report sorts and filters on the rank.
PRODUCT_ACCESS_STATES = {
    0: ("active", "Has access"),
    1: ("scheduled", "Starts later"),
    2: ("revoked", "Revoked"),
    3: ("expired", "Expired"),
}
ACCESS_RANK = {state: rank for rank, (state, _) in PRODUCT_ACCESS_STATES.items()}

COMPLETION_BUCKETS = ["0%", "1-25%", "26-50%", "51-75%", "76-99%", "100%"]


def held_access_q(prefix: str = "") -> Q:
    """A ProductAccess through which a contact holds or held a Product (View More's rows)."""
    return Q(**{f"{prefix}removed_at__isnull": True})


def scheduled_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    now = now or timezone.now()
    return Q(
        **{
            f"{prefix}status": AccessStatus.ACTIVE,
            f"{prefix}removed_at__isnull": True,
            f"{prefix}grant__status": AccessStatus.ACTIVE,
            f"{prefix}grant__starts_at__gt": now,
        }
    )


def revoked_access_q(prefix: str = "") -> Q:
    """Access someone switched off; access that ran out at the end of its period is expired."""
    grant_revoked = Q(**{f"{prefix}grant__status": AccessStatus.REVOKED}) & ~Q(
        **{f"{prefix}grant__revoked_via": RevokedVia.EXPIRY}
    )
    product_revoked = Q(
        **{f"{prefix}grant__status": AccessStatus.ACTIVE, f"{prefix}status": AccessStatus.REVOKED}
    ) & ~Q(**{f"{prefix}revoked_via": RevokedVia.EXPIRY})
    return held_access_q(prefix) & (grant_revoked | product_revoked)


def product_progress(product: Product, now: datetime | None = None) -> QuerySet:
    """Every contact who holds or held a Product, with their progress in it and access state.

    Revoked customers keep their row and their progress. Each contact carries
    `lessons_done`, `last_completed_at` and `access_rank` (a key of PRODUCT_ACCESS_STATES).
    One query, whatever the number of contacts.
    """
    now = now or timezone.now()
    # A contact's accesses are reached through their grants, each access by its grant and
    # Product (a unique index): without statistics, SQLite would otherwise read every
    # access to the Product for each contact.
    access = ProductAccess.objects.filter(held_access_q(), product=product, grant=OuterRef("pk"))
    grants = Grant.objects.filter(Exists(access), contact=OuterRef("pk")).order_by()
    completions = LessonCompletion.objects.filter(
        contact=OuterRef("pk"), lesson__product=product
    ).order_by()
    return (
        Contact.objects.filter(site=product.site_id)
        .filter(Exists(grants))
        .annotate(
            lessons_done=Coalesce(
                Subquery(
                    completions.values("contact").annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            last_completed_at=Subquery(
                completions.order_by("-completed_at").values("completed_at")[:1]
            ),
            # The best state of any of the contact's accesses, in one subquery: PostgreSQL
            # runs it for the rows of a page, where an EXISTS per state would be hashed
            # over every customer of the Product.
            access_rank=Subquery(
                grants.annotate(
                    rank=Subquery(access.annotate(rank=_access_rank(now)).values("rank"))
                )
                .order_by("rank")
                .values("rank")[:1],
                output_field=IntegerField(),
            ),
        )
    )


def _access_rank(now: datetime) -> Case:
    """One access's state, as a key of PRODUCT_ACCESS_STATES: the first state it is in."""
    return Case(
        When(current_access_q(now=now), then=Value(0)),
        When(scheduled_access_q(now=now), then=Value(1)),
        When(revoked_access_q(), then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


def completion_band(lessons_done: int, lessons_total: int) -> int:
    """The index in COMPLETION_BUCKETS of `lessons_done` of `lessons_total` lessons.

    The bands are of exact fractions: 1 of 4 lessons is 25%, 2 of 7 is in 26-50%.
    """
    if lessons_done <= 0:
        return 0
    if lessons_done >= lessons_total:
        return 5
    for band, quarters in enumerate((1, 2, 3), start=1):
        if lessons_done <= quarters * lessons_total // 4:
            return band
    return 4


def completion_distribution(contacts: QuerySet, lessons_total: int) -> list[tuple[str, int]]:
    """How many of these contacts (from product_progress) are in each COMPLETION_BUCKETS band.

    One query, grouped by the number of lessons done: each contact's count is worked out
    once, where a count per band filtered on it would work it out again for every band.
    """
    counts = [0] * len(COMPLETION_BUCKETS)
    if lessons_total <= 0:
        return list(zip(COMPLETION_BUCKETS, counts, strict=True))
    for lessons_done, contacts_count in (
        contacts.order_by().values_list("lessons_done").annotate(n=Count("pk"))
    ):
        counts[completion_band(lessons_done, lessons_total)] += contacts_count
    return list(zip(COMPLETION_BUCKETS, counts, strict=True))


@dataclass
class ProductSummary:
    """One row of the Products tab."""

    product: Product
    lessons_total: int
    with_access: int = 0
    revoked: int = 0
    holders: int = 0
    lessons_done: int = 0

    @property
    def average_completion(self) -> int | None:
        """Percent of lessons done, averaged over everyone who holds or held the Product."""
        if not self.holders or not self.lessons_total:
            return None
        return round(100 * self.lessons_done / (self.holders * self.lessons_total))


def open_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    """A ProductAccess that opens its Product now or will (the report's first two states)."""
    return current_access_q(prefix, now) | scheduled_access_q(prefix, now)


def _contacts_per_product(
    accesses: QuerySet, products: list[int], **conditions: Q
) -> dict[str, dict[int, int]]:
    """For each named condition, the distinct contacts per Product with such an access.

    One query. The two databases are fastest with different forms of it: PostgreSQL
    groups the accesses by Product with parallel workers, while SQLite groups by sorting
    every access, so there one distinct count per Product and condition, which only keeps
    the contacts it has seen, is twice as fast.
    """
    counts = {name: dict.fromkeys(products, 0) for name in conditions}
    contact = "grant__contact"
    if connections[accesses.db].vendor == "sqlite":
        row = accesses.order_by().aggregate(
            **{
                f"{name}_{pk}": Count(contact, distinct=True, filter=Q(product=pk) & condition)
                for name, condition in conditions.items()
                for pk in products
            }
        )
        for name, per_product in counts.items():
            for pk in per_product:
                per_product[pk] = row[f"{name}_{pk}"]
        return counts
    rows = (
        accesses.order_by()
        .values("product")
        .annotate(
            **{
                name: Count(contact, distinct=True, filter=condition or None)
                for name, condition in conditions.items()
            }
        )
    )
    for row in rows:
        for name, per_product in counts.items():
            per_product[row["product"]] = row[name]
    return counts


def _lessons_done_by_holders(products: list[int]) -> dict[int, int]:
    """Completed lessons of each Product, counting only contacts who hold or held it.

    The (contact, Product) pairs that hold a Product are worked out once, as one set,
    each pair written as a single number: contact * k + Product, k above every Product id.
    """
    if not products:
        return {}
    k = max(products) + 1
    holders = ProductAccess.objects.filter(held_access_q(), product__in=products).values(
        pair=F("grant__contact") * k + F("product")
    )
    counts = (
        LessonCompletion.objects.filter(lesson__product__in=products)
        .alias(pair=F("contact") * k + F("lesson__product"))
        .filter(pair__in=holders)
        .aggregate(**{str(pk): Count("pk", filter=Q(lesson__product=pk)) for pk in products})
    )
    return {pk: counts[str(pk)] for pk in products}


def product_summaries(site, product: Product | None = None) -> list[ProductSummary]:
    """The Products tab: each Product of a site with its customers and average completion.

    Five queries, whatever the number of products, customers and lessons. The counts
    agree with product_progress: `with_access` and `revoked` are the contacts the report
    marks "Has access" and "Revoked".
    """
    now = timezone.now()
    products = Product.objects.filter(site=site).annotate(lessons_total=Count("lessons"))
    if product is not None:
        products = products.filter(pk=product.pk)
    summaries = {p.pk: ProductSummary(p, p.lessons_total) for p in products.order_by("title", "pk")}
    pks = list(summaries)
    held = ProductAccess.objects.filter(held_access_q(), product__in=pks)
    opens = open_access_q(now=now)
    with_access = _contacts_per_product(held.filter(current_access_q(now=now)), pks, n=Q())["n"]
    # Revoked: contacts with a revoked access and none that opens the Product now or later,
    # that is those with either kind of access less those with one that opens it.
    reached = _contacts_per_product(
        held.filter(opens | revoked_access_q()), pks, either=Q(), opens=opens
    )
    holders = _contacts_per_product(held, pks, n=Q())["n"]
    done = _lessons_done_by_holders(pks)
    for pk, summary in summaries.items():
        summary.with_access = with_access[pk]
        summary.revoked = reached["either"][pk] - reached["opens"][pk]
        summary.holders = holders[pk]
        summary.lessons_done = done[pk]
    return list(summaries.values())


@dataclass(frozen=True)
class WeekOfChanges:
    starts_on: date
    granted: int
    revoked: int


def weekly_access_changes(
    product: Product, weeks: int = 12, now: datetime | None = None
) -> list[WeekOfChanges]:
    """Grants and revokes of a Product per week (weeks start on Monday), oldest first.

    A grant or revoke of a whole Offer counts for each Product of its grant; revoking the
    Product alone counts too. Access that ran out at the end of its period was not
    revoked by anyone and is left out, as the report reads it "Expired". One query.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first_monday = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    start = timezone.make_aware(datetime.combine(first_monday, time.min))
    kinds = AccessEvent.Kind
    # The grants that hold the Product, worked out once as a set rather than per event.
    grants = ProductAccess.objects.filter(product=product).values("grant")
    events = (
        AccessEvent.objects.filter(site=product.site_id, at__gte=start, at__lte=now)
        .filter(
            Q(kind__in=[kinds.GRANTED, kinds.REVOKED], product__isnull=True, grant__in=grants)
            | Q(kind=kinds.PRODUCT_REVOKED, product=product)
        )
        .exclude(actor_kind=ActorKind.EXPIRY)
    )
    mondays = [first_monday + timedelta(weeks=i) for i in range(weeks)]
    starts = [timezone.make_aware(datetime.combine(monday, time.min)) for monday in mondays]
    # Each event's week from comparisons of its time, newest week first, then one count
    # per week and kind: no per-row date function, which on SQLite is a Python call.
    week = Case(
        *[When(at__gte=starts[i], then=Value(i)) for i in range(weeks - 1, 0, -1)],
        default=Value(0),
        output_field=IntegerField(),
    )
    granted, revoked = [0] * weeks, [0] * weeks
    for i, kind, count in (
        events.order_by().annotate(week=week).values_list("week", "kind").annotate(n=Count("pk"))
    ):
        if kind == kinds.GRANTED:
            granted[i] += count
        else:
            revoked[i] += count
    return [WeekOfChanges(monday, granted[i], revoked[i]) for i, monday in enumerate(mondays)]


# --- Editing an Offer ----------------------------------------------------------------


def offer_change_counts(offer: Offer, added: Iterable[int], removed: Iterable[int]) -> dict:
    """How many customers a change of an Offer's Products reaches, before it is saved.

    Returns {"gain": n, "lose": {product_id: n}}: each added Product reaches every
    active grant of the Offer (add_product_to_offer), each removed one the grants still
    holding it (remove_product_from_offer). Two queries at most.
    """
    added, removed = list(added), list(removed)
    gain = Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).count() if added else 0
    lose = {}
    if removed:
        lose = dict(
            ProductAccess.objects.filter(
                grant__offer=offer,
                grant__status=AccessStatus.ACTIVE,
                product__in=removed,
                removed_at__isnull=True,
            )
            .order_by()
            .values("product")
            .annotate(n=Count("pk"))
            .values_list("product", "n")
        )
    return {"gain": gain, "lose": {pk: lose.get(pk, 0) for pk in removed}}


# --- The Contacts tab, the contact panel and the profile --------------------------------


def contacts_table(site: Site, now: datetime | None = None) -> QuerySet:
    """A site's contacts as the Contacts tab lists them, tags prefetched into `tag_list`.

    `total_products` (the Products a contact can open now) and `is_customer` (holds or
    held a Grant) are subqueries, so the table sorts on them in SQL and a page costs
    the same number of queries whatever its size.
    """
    now = now or timezone.now()
    opens_now = (
        ProductAccess.objects.filter(current_access_q(now=now), grant__contact=OuterRef("pk"))
        .order_by()
        .values("grant__contact")
        .annotate(n=Count("product", distinct=True))
        .values("n")
    )
    return (
        Contact.objects.filter(site=site)
        .annotate(
            total_products=Coalesce(Subquery(opens_now, output_field=IntegerField()), 0),
            # A scalar subquery rather than EXISTS: PostgreSQL would plan EXISTS for every
            # contact of the site and hash all their grants, though only a page is shown.
            is_customer=Coalesce(
                Subquery(
                    Grant.objects.filter(contact=OuterRef("pk"))
                    .annotate(held=Value(True))
                    .values("held")[:1],
                    output_field=BooleanField(),
                ),
                Value(False),
            ),
        )
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name", "pk"), to_attr="tag_list")
        )
    )


def contact_subscriptions(contact: Contact) -> QuerySet:
    """A contact's subscriptions and payment plans, newest first, with their latest payments."""
    return (
        Subscription.objects.filter(grant__contact=contact)
        .select_related("grant__offer")
        .prefetch_related(
            Prefetch(
                "payments",
                queryset=Payment.objects.order_by("-at", "-pk")[: Subscription.LATEST_PAYMENTS],
                to_attr="prefetched_latest_payments",
            )
        )
        .order_by("-grant__starts_at", "-pk")
    )


def contact_activity(contact: Contact) -> QuerySet:
    """The contact's audit trail, newest first."""
    return (
        AccessEvent.objects.filter(contact=contact)
        .select_related("actor", "product", "grant__offer")
        .order_by("-at", "-pk")
    )


# --- More Info and the Purchases tab ------------------------------------------------


def grant_state(grant: Grant, now: datetime) -> str:
    """ "active", "scheduled", "revoked" or "expired": what More Info says about a grant."""
    if grant.status == AccessStatus.REVOKED:
        return "expired" if grant.revoked_via == RevokedVia.EXPIRY else "revoked"
    if grant.has_expired(now):
        return "expired"
    if grant.starts_at > now:
        return "scheduled"
    return "active"


@dataclass
class OfferProduct:
    """One Product of a grant's Offer, with the contact's progress in it."""

    access: ProductAccess
    state: str
    lessons_done: int = 0
    lessons_total: int = 0

    @property
    def product(self) -> Product:
        return self.access.product

    @property
    def revoked_alone(self) -> bool:
        """Revoked on its own, so it has its own `Restore access`."""
        return self.access.status == AccessStatus.REVOKED


@dataclass
class GrantDetail:
    """A Grant as More Info and the Purchases tab show it."""

    grant: Grant
    state: str
    access: AccessState | None
    billing: list[Subscription]
    products: list[OfferProduct] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Access can be revoked (it is on, or starts later)."""
        return self.state in ("active", "scheduled")

    @property
    def subscription(self) -> Subscription | None:
        return getattr(self.grant, "subscription", None)


def _details(grants, contact: Contact, now: datetime) -> list[GrantDetail]:
    details = []
    product_ids = set()
    for grant in grants:
        state = grant_state(grant, now)
        detail = GrantDetail(grant, state, access_status(grant, now), billing_subscriptions(grant))
        for access in grant.product_accesses.all():
            if access.removed_at is not None:
                continue
            product_state = state
            if state in ("active", "scheduled") and access.status == AccessStatus.REVOKED:
                product_state = "revoked"
            detail.products.append(OfferProduct(access, product_state))
            product_ids.add(access.product_id)
        details.append(detail)
    if product_ids:
        totals = dict(
            Product.objects.filter(pk__in=product_ids)
            .annotate(n=Count("lessons"))
            .values_list("pk", "n")
        )
        done = dict(
            LessonCompletion.objects.filter(contact=contact, lesson__product__in=product_ids)
            .order_by()
            .values("lesson__product")
            .annotate(n=Count("pk"))
            .values_list("lesson__product", "n")
        )
        for detail in details:
            for line in detail.products:
                line.lessons_total = totals.get(line.access.product_id, 0)
                line.lessons_done = done.get(line.access.product_id, 0)
    return details


@dataclass
class MoreInfo:
    """More Info next to a Product: every Grant through which the contact holds or held it."""

    product: Product
    grants: list[GrantDetail]
    lessons_done: int = 0
    lessons_total: int = 0


def more_info(contact: Contact, product: Product, now: datetime | None = None) -> MoreInfo:
    """Four queries, whatever the number of grants and Products."""
    now = now or timezone.now()
    details = _details(product_grants(contact, product), contact, now)
    info = MoreInfo(product, details)
    for detail in details:
        for line in detail.products:
            if line.access.product_id == product.pk:
                info.lessons_done, info.lessons_total = line.lessons_done, line.lessons_total
    return info


def contact_purchases(contact: Contact, now: datetime | None = None) -> list[GrantDetail]:
    """The Purchases tab: one entry per Grant, newest first, with `Access status` where due."""
    now = now or timezone.now()
    return _details(contact_grants(contact), contact, now)
