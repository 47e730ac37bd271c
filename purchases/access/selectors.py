"""The read side of access: "does this customer have access" is answered here and only here."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import Contact
from products.models import Lesson, LessonCompletion, Offer, Product
from purchases.access.states import (
    AccessState,
    current_access_q,
    grant_state_of,
    open_access_q,
    own_state_of,
    state_of,
)
from purchases.billing.selectors import LATEST_PAYMENTS, billing_subscriptions
from purchases.models import (
    AccessEvent,
    AccessStatus,
    Grant,
    Payment,
    ProductAccess,
    RevokedVia,
    Subscription,
)

ACCESS_REVOKED = "Access revoked"


def has_access(contact: Contact, product: Product, now: datetime | None = None) -> bool:
    return ProductAccess.objects.filter(
        current_access_q(now=now), grant__contact=contact, product=product
    ).exists()


def _per_product(rows: QuerySet, product: str) -> Coalesce:
    """How many of `rows` each Product has, as a subquery of it (0 for none)."""
    counted = rows.order_by().values(product).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_progress(products: QuerySet, contact: Contact) -> QuerySet:
    """Each Product's number of lessons and of lessons the contact completed.

    Subqueries per Product, the completions filtered by the contact first, so that the
    cost is the customer's own progress: a join through every lesson's completions
    would read those of every customer and only then keep this one's.
    """
    lessons = Lesson.objects.filter(product=OuterRef("pk"))
    done = LessonCompletion.objects.filter(contact=contact, lesson__product=OuterRef("pk"))
    return products.annotate(
        lessons_total=_per_product(lessons, "product"),
        lessons_done=_per_product(done, "lesson__product"),
    )


def library_products(contact: Contact, now: datetime | None = None) -> QuerySet:
    """The Products a customer can open now, with their progress.

    The open accesses are found from the contact's grants, once, not Product by Product:
    a correlated EXISTS lets SQLite walk every customer's accesses to each Product.
    """
    accessible = ProductAccess.objects.filter(
        current_access_q(now=now), grant__contact=contact
    ).values("product_id")
    return with_progress(
        Product.objects.filter(site=contact.site_id, pk__in=accessible), contact
    ).order_by("title", "pk")


@dataclass
class ContactProduct:
    """One Product a contact holds or held, as View More shows it."""

    product: Product
    state: AccessState  # the best of the contact's accesses to it
    offers: list[Offer] = field(default_factory=list)
    lessons_done: int = 0
    lessons_total: int = 0
    # Each access to it, with its own state: its grant carries the offer and the dates.
    accesses: list[tuple[ProductAccess, AccessState]] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.state == AccessState.ACTIVE


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
        state = state_of(access, now)
        entry = by_product.get(access.product_id)
        if entry is None:
            entry = by_product[access.product_id] = ContactProduct(access.product, state)
        elif state.rank < entry.state.rank:
            entry.state = state
        entry.accesses.append((access, state))
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
    return sorted(by_product.values(), key=lambda e: (e.state.rank, e.product.title.lower()))


def contact_grants(contact: Contact) -> QuerySet:
    """Every Grant of a contact, newest first, ready for access_status() and billing."""
    return (
        Grant.objects.filter(contact=contact)
        .select_related(
            "offer", "granted_by", "revoked_by", "revoked_by_key", "purchase", "subscription"
        )
        .prefetch_related(
            Prefetch(
                "product_accesses",
                queryset=ProductAccess.objects.select_related(
                    "product", "revoked_by", "revoked_by_key"
                ).order_by("product__title", "pk"),
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
class RevokedNotice:
    """What the Purchases tab says about a grant whose access is not whole."""

    label: str
    revoked_by: str
    reason: str = ""
    revoked_at: datetime | None = None


def revoked_by_label(via: str, user, key=None) -> str:
    if key is not None:
        return f"Revoked by {key.label}"
    if via == RevokedVia.AUTOMATION:
        return "Revoked by automation"
    if via == RevokedVia.SUPPORT:
        return "Revoked by our support team"
    if via == RevokedVia.CREATOR and user is not None:
        return f"Revoked by {user.email}"
    return "Revoked"


def access_status(grant: Grant, now: datetime | None = None) -> RevokedNotice | None:
    """None while the grant's access is whole; else "Access revoked" and who did it.

    Access is not whole when the Offer or any of its Products was revoked, or when the
    grant has expired (even before the expiry sweep has recorded it).
    """
    now = now or timezone.now()
    if grant.status == AccessStatus.REVOKED:
        return RevokedNotice(
            ACCESS_REVOKED,
            revoked_by_label(grant.revoked_via, grant.revoked_by, grant.revoked_by_key),
            grant.revoke_reason,
            grant.revoked_at,
        )
    if grant.has_expired(now):
        return RevokedNotice(ACCESS_REVOKED, "Revoked", "", grant.expires_at)
    revoked = [
        access
        for access in grant.product_accesses.all()
        if access.status == AccessStatus.REVOKED and access.removed_at is None
    ]
    if not revoked:
        return None
    latest = max(revoked, key=lambda access: access.revoked_at)
    return RevokedNotice(
        ACCESS_REVOKED,
        revoked_by_label(latest.revoked_via, latest.revoked_by, latest.revoked_by_key),
        latest.revoke_reason,
        latest.revoked_at,
    )


def contact_activity(contact: Contact) -> QuerySet:
    """The contact's audit trail, newest first."""
    return (
        AccessEvent.objects.filter(contact=contact)
        .select_related("actor", "product", "grant__offer")
        .order_by("-at", "-pk")
    )


@dataclass
class OfferProduct:
    """One Product of a grant's Offer, with the contact's progress in it."""

    access: ProductAccess
    state: AccessState
    # Marked on its own line: its state is not the Offer's and not plain access.
    marked: bool = False
    # The Product More Info was opened from: first, and highlighted.
    chosen: bool = False
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
    state: AccessState  # the Offer's: `Partly revoked` when some of its Products are
    is_open: bool  # the Grant itself is on or starts later, so it can be revoked
    access: RevokedNotice | None
    billing: list[Subscription]
    products: list[OfferProduct] = field(default_factory=list)
    # Access starts, or ends, at a moment still to come: the screens give its date.
    starts_later: bool = False
    ends_later: bool = False

    @property
    def subscription(self) -> Subscription | None:
        return getattr(self.grant, "subscription", None)


def _detail(grant: Grant, now: datetime) -> GrantDetail:
    state = grant_state_of(grant, now)
    detail = GrantDetail(
        grant,
        state,
        own_state_of(grant, now).is_open,
        access_status(grant, now),
        billing_subscriptions(grant),
        starts_later=grant.starts_at > now,
        ends_later=grant.expires_at is not None and grant.expires_at > now,
    )
    for access in grant.product_accesses.all():
        line_state = state_of(access, now)
        if line_state is None:  # taken out of the Offer
            continue
        marked = line_state not in (state, AccessState.ACTIVE)
        detail.products.append(OfferProduct(access, line_state, marked))
    return detail


def _details(grants, contact: Contact, now: datetime) -> list[GrantDetail]:
    details = [_detail(grant, now) for grant in grants]
    product_ids = {line.access.product_id for detail in details for line in detail.products}
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
    """Four queries, whatever the number of grants and Products.

    In each Offer the Product More Info was opened from comes first and is marked
    `chosen`, so that its `Revoke Access` is the first one the creator sees.
    """
    now = now or timezone.now()
    details = _details(product_grants(contact, product), contact, now)
    info = MoreInfo(product, details)
    for detail in details:
        for line in detail.products:
            if line.access.product_id == product.pk:
                line.chosen = True
                info.lessons_done, info.lessons_total = line.lessons_done, line.lessons_total
        detail.products.sort(key=lambda line: not line.chosen)
    return info


def opens_other_products(grant: Grant, product: Product, now: datetime | None = None) -> bool:
    """Some other Product of the grant's Offer is open (now or later) to the contact."""
    return (
        ProductAccess.objects.filter(open_access_q(now=now), grant=grant)
        .exclude(product=product)
        .exists()
    )


def contact_purchases(contact: Contact, now: datetime | None = None) -> list[GrantDetail]:
    """The Purchases tab: one entry per Grant, newest first, with `Access status` where due."""
    now = now or timezone.now()
    return _details(contact_grants(contact), contact, now)


def grant_detail(grant: Grant, now: datetime | None = None) -> GrantDetail:
    """One grant as More Info shows it: its state, its Products' states and progress."""
    now = now or timezone.now()
    fresh = contact_grants(grant.contact).select_related("contact").get(pk=grant.pk)
    return _details([fresh], fresh.contact, now)[0]
