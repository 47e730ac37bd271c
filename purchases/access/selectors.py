"""The read side of access: "does this customer have access" is answered here and only here."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from contacts.models import Contact
from products.models import LessonCompletion, Offer, Product
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


# A customer's state for one Product, best first: the report sorts and filters on the rank.
PRODUCT_ACCESS_STATES = {
    0: ("active", "Has access"),
    1: ("scheduled", "Starts later"),
    2: ("revoked", "Revoked"),
    3: ("expired", "Expired"),
}


ACCESS_RANK = {state: rank for rank, (state, _) in PRODUCT_ACCESS_STATES.items()}


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


def _access_rank(now: datetime) -> Case:
    """One access's state, as a key of PRODUCT_ACCESS_STATES: the first state it is in."""
    return Case(
        When(current_access_q(now=now), then=Value(0)),
        When(scheduled_access_q(now=now), then=Value(1)),
        When(revoked_access_q(), then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


def open_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    """A ProductAccess that opens its Product now or will (the report's first two states)."""
    return current_access_q(prefix, now) | scheduled_access_q(prefix, now)


def contact_activity(contact: Contact) -> QuerySet:
    """The contact's audit trail, newest first."""
    return (
        AccessEvent.objects.filter(contact=contact)
        .select_related("actor", "product", "grant__offer")
        .order_by("-at", "-pk")
    )


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
