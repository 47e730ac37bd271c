"""Lists and counts over a whole site.

The Contacts tab's rows, the Products tab and the Product Progress report.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, F, Prefetch, QuerySet

from contacts.models import Contact, Tag
from kajaccess.models import Site
from products.models import Product
from purchases.access.facts import (
    catch_up_access_facts,
    offer_counts,
    product_counts,
    product_weeks,
)
from purchases.access.states import AccessState, current_access_q
from purchases.models import ProductAccess


def offer_customer_counts(site) -> dict[int, int]:
    """Contacts with current access through each Offer of a site, from its counters."""
    catch_up_access_facts(site=site)
    return offer_counts(site.offers.all(), AccessState.ACTIVE)


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


def product_progress(product: Product) -> QuerySet:
    """Every contact who holds or held a Product, with their progress in it and access state.

    Revoked customers keep their row and their progress. Each contact carries
    `lessons_done`, `last_completed_at` and `access_rank`, the AccessState.rank of the best
    of their accesses to it, read from their ProductHolder row. One query.
    """
    catch_up_access_facts(site=product.site_id)
    # The site, which every holder is of, lets the sort by name read the site's name index.
    return Contact.objects.filter(site=product.site_id, product_holds__product=product).annotate(
        lessons_done=F("product_holds__lessons_done"),
        last_completed_at=F("product_holds__last_completed_at"),
        access_rank=F("product_holds__access_rank"),
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


def completion_distribution(
    contacts: QuerySet, lessons_total: int, counted: Counter | None = None
) -> list[tuple[str, int]]:
    """How many of these contacts (from product_progress) are in each COMPLETION_BUCKETS band.

    `counted` is the Product's counters (product_counts), of the whole report or of one
    access state: then no contact is read at all. Else one query, grouped by the number of lessons done.
    """
    counts = [0] * len(COMPLETION_BUCKETS)
    if lessons_total <= 0:
        return list(zip(COMPLETION_BUCKETS, counts, strict=True))
    if counted is not None:
        by_done = Counter()
        for (_, lessons_done), holders in counted.items():
            by_done[lessons_done] += holders
        rows = by_done.items()
    else:
        rows = contacts.order_by().values_list("lessons_done").annotate(n=Count("pk"))
    for lessons_done, contacts_count in rows:
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
    # Its holders by (access rank, lessons done), as the counters hold them.
    counted: Counter = field(default_factory=Counter)

    @property
    def average_completion(self) -> int | None:
        """Percent of lessons done, averaged over everyone who holds or held the Product."""
        if not self.holders or not self.lessons_total:
            return None
        return round(100 * self.lessons_done / (self.holders * self.lessons_total))


def product_summaries(site, product: Product | None = None) -> list[ProductSummary]:
    """The Products tab: each Product of a site with its customers and average completion.

    Two queries, whatever the number of products, customers and lessons: the counts come
    from the Products' counters, each the number of contacts the report marks so.
    """
    catch_up_access_facts(site=site)
    products = Product.objects.filter(site=site).annotate(lessons_total=Count("lessons"))
    if product is not None:
        products = products.filter(pk=product.pk)
    summaries = {p.pk: ProductSummary(p, p.lessons_total) for p in products.order_by("title", "pk")}
    by_rank = {
        AccessState.ACTIVE.rank: "with_access",
        AccessState.SCHEDULED.rank: "starts_later",
        AccessState.REVOKED.rank: "revoked",
        AccessState.EXPIRED.rank: "expired",
    }
    for pk, counted in product_counts(summaries).items():
        summary = summaries[pk]
        summary.counted = counted
        for (rank, lessons_done), holders in counted.items():
            name = by_rank[rank]
            setattr(summary, name, getattr(summary, name) + holders)
            summary.holders += holders
            summary.lessons_done += holders * lessons_done
    return list(summaries.values())


@dataclass(frozen=True)
class WeekOfChanges:
    starts_on: date
    granted: int
    revoked: int


def weekly_access_changes(product: Product, now: datetime | None = None) -> list[WeekOfChanges]:
    """Grants and revokes of a Product in each of the last 12 weeks (from Monday), oldest first.

    A grant or revoke of a whole Offer counts for each Product of its grant; revoking the
    Product alone counts too. Access that ran out at the end of its period was not
    revoked by anyone and is left out, as the report reads it "Expired". One query, of the
    Product's weekly counters.
    """
    weeks = product_weeks(product.pk, now)
    return [WeekOfChanges(monday, *changes) for monday, changes in weeks.items()]


def contacts_table(site: Site) -> QuerySet:
    """A site's contacts as the Contacts tab lists them, tags prefetched into `tag_list`.

    `products_count` (Total products) and `is_customer` are the contacts' access facts,
    brought up to the present first, so the table sorts and filters on indexed columns
    and a page costs the same number of queries whatever its size.
    """
    catch_up_access_facts(site=site)
    return Contact.objects.filter(site=site).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name", "pk"), to_attr="tag_list")
    )
