"""The Contacts tab's read side: the table, and a contact's panel, profile and More Info.

These screens show access and billing, so this module reads them through
purchases.selectors (the one place that says who has access); contacts' models and
services never import it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from kajaccess.models import Site
from products.models import LessonCompletion, Product
from purchases.models import (
    AccessEvent,
    AccessStatus,
    Grant,
    Payment,
    ProductAccess,
    RevokedVia,
    Subscription,
)
from purchases.selectors import (
    AccessState,
    access_status,
    billing_subscriptions,
    contact_grants,
    current_access_q,
    product_grants,
)

from .filters import ContactFilter
from .models import Contact, Tag


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
            is_customer=Exists(Grant.objects.filter(contact=OuterRef("pk"))),
        )
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name", "pk"), to_attr="tag_list")
        )
    )


def contacts_matching(site: Site, query: str) -> QuerySet:
    """The contacts the Contacts tab shows for a query string of its search and filters."""
    return ContactFilter(QueryDict(query), queryset=contacts_table(site), site=site).qs


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
