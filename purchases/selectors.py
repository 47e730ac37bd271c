"""The read side of access: "does this customer have access" is answered here and only here."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from contacts.models import Contact
from products.models import LessonCompletion, Offer, Product

from .models import AccessStatus, Grant, ProductAccess, RevokedVia, Subscription

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
            )
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
