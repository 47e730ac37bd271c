"""Lists and counts over a whole site.

The Contacts tab's rows, the Products tab and the Product Progress report.
"""

from collections import defaultdict
from dataclasses import dataclass
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
from products.models import LessonCompletion, Product
from purchases.access.states import (
    access_rank_case,
    current_access_q,
    current_grant_q,
    held_access_q,
    open_access_q,
    revoked_access_q,
)
from purchases.models import (
    AccessEvent,
    Grant,
    ProductAccess,
)


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


COMPLETION_BUCKETS = ["0%", "1-25%", "26-50%", "51-75%", "76-99%", "100%"]


def product_progress(product: Product, now: datetime | None = None) -> QuerySet:
    """Every contact who holds or held a Product, with their progress in it and access state.

    Revoked customers keep their row and their progress. Each contact carries
    `lessons_done`, `last_completed_at` and `access_rank`, the AccessState.rank of the best
    of their accesses to it. One query, whatever the number of contacts.
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
                    rank=Subquery(access.annotate(rank=access_rank_case(now)).values("rank"))
                )
                .order_by("rank")
                .values("rank")[:1],
                output_field=IntegerField(),
            ),
        )
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
    """One row of the Products tab; the totals of the Product Progress report.

    Each holder is counted once, in the best state of their accesses (as the report
    marks them), so with_access + starts_later + revoked + expired == holders.
    """

    product: Product
    lessons_total: int
    with_access: int = 0
    starts_later: int = 0
    revoked: int = 0
    expired: int = 0
    holders: int = 0
    lessons_done: int = 0

    @property
    def average_completion(self) -> int | None:
        """Percent of lessons done, averaged over everyone who holds or held the Product."""
        if not self.holders or not self.lessons_total:
            return None
        return round(100 * self.lessons_done / (self.holders * self.lessons_total))


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
    agree with product_progress: each is the number of contacts the report marks with
    that state.
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
    # A contact's best state is the first one, in rank order, that any of their accesses
    # is in: so the contacts in a state are those with an access in it or a better one,
    # less those with an access in a better one.
    reached = _contacts_per_product(
        held.filter(opens | revoked_access_q()), pks, either=Q(), opens=opens
    )
    holders = _contacts_per_product(held, pks, n=Q())["n"]
    done = _lessons_done_by_holders(pks)
    for pk, summary in summaries.items():
        summary.with_access = with_access[pk]
        summary.starts_later = reached["opens"][pk] - with_access[pk]
        summary.revoked = reached["either"][pk] - reached["opens"][pk]
        summary.expired = holders[pk] - reached["either"][pk]
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
