"""Issue 16's table: every page it names, measured at one size of the site, beside the
baselines it is judged by (the admin changelist of the same contacts, hand-written SQL
reading the counters, a hand-written search), and the table of sizes for the README.
"""

import statistics
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kajaccess.models import Site
from products.models import Offer, Product

# A page slower than this is measured fewer times: the median of 3 still says its size.
SLOW_SECONDS = 2.0
PER_PAGE = 50
SEARCH = "customer0001"
ADMIN = "Admin contact changelist"
FLOOR = "Change password (a signed-in page's floor)"


@dataclass(frozen=True)
class Page:
    """A page of the table: who opens it, its URL name and arguments, its query string."""

    who: str  # "creator", "support" (the admin) or "customer" (ada@example.com)
    url_name: str
    args: tuple[str, ...] = ()  # names of World attributes
    query: str = ""
    baseline: str = ""  # the hand-written SQL it is held to, if any: "counters", "search", "rows"


@dataclass
class World:
    """The ids the pages need, looked up on the demo data."""

    site: Site
    python_basics: int
    bootcamp: int

    @classmethod
    def of(cls, site: Site) -> "World":
        return cls(
            site=site,
            python_basics=Product.objects.get(site=site, title="Python Basics").pk,
            bootcamp=Offer.objects.get(site=site, title="Python Bootcamp").pk,
        )


CONTACTS = "contacts:list"
ISSUE_PAGES = {
    "Contacts tab": Page("creator", CONTACTS, query=f"per_page={PER_PAGE}"),
    f'Contacts, search "{SEARCH}"': Page(
        "creator", CONTACTS, query=f"per_page={PER_PAGE}&q={SEARCH}", baseline="search"
    ),
    "Contacts, access=revoked": Page("creator", CONTACTS, query="per_page=50&access=revoked"),
    "Contacts, access=has_access": Page("creator", CONTACTS, query="per_page=50&access=has_access"),
    "Contacts, access=none": Page("creator", CONTACTS, query="per_page=50&access=none"),
    "Contacts, product": Page("creator", CONTACTS, query="per_page=50&product={python_basics}"),
    "Contacts, subscription": Page("creator", CONTACTS, query="per_page=50&billing=active"),
    "Contacts, by Customer desc": Page("creator", CONTACTS, query="per_page=50&sort=-is_customer"),
    "Contacts, by Total products": Page(
        "creator", CONTACTS, query="per_page=50&sort=-total_products"
    ),
    "Contacts, by Added desc": Page("creator", CONTACTS, query="per_page=50&sort=-created_at"),
    "Contacts, by Last activity desc": Page(
        "creator", CONTACTS, query="per_page=50&sort=-last_activity_at"
    ),
    "Contacts, last page": Page("creator", CONTACTS, query="per_page=50&page=last"),
    "Products tab": Page("creator", "products:list", baseline="counters"),
    "Progress report (Python Basics)": Page(
        "creator", "products:progress", ("python_basics",), baseline="counters"
    ),
    "Progress report CSV": Page(
        "creator", "products:progress_csv", ("python_basics",), baseline="rows"
    ),
    "Offers tab": Page("creator", "products:offers"),
    "Activity tab": Page("creator", "purchases:activity"),
    "Library of ada@example.com": Page("customer", "library:index"),
    # No list at all: the session, the member, the site and the layout, held to the counters'
    # SQL as the Products tab is, the least any signed-in page costs.
    FLOOR: Page("creator", "password_change", baseline="counters"),
    ADMIN: Page("support", "admin:contacts_contact_changelist", query="site__id__exact={site_id}"),
}


def page_url(page: Page, world: World) -> str:
    args = [getattr(world, name) for name in page.args]
    url = reverse(page.url_name, args=args)
    query = page.query.format(site_id=world.site.pk, **vars(world))
    return f"{url}?{query}" if query else url


def clients() -> dict[str, Client]:
    """A signed-in client for each `Page.who` of the demo logins."""
    User = get_user_model()
    logins = {
        "creator": "creator@example.com",
        "support": "support@example.com",
        "customer": "ada@example.com",
    }
    signed_in = {}
    for who, email in logins.items():
        signed_in[who] = Client()
        signed_in[who].force_login(User.objects.get(email=email))
    return signed_in


def fetch(client: Client, url: str) -> int:
    """GET the page and read it whole, a streamed CSV included; its size in bytes."""
    response = client.get(url)
    if response.status_code != 200:
        raise CommandError(f"{url} answered {response.status_code}")
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def median_time(fn, repeat: int) -> float:
    start = time.perf_counter()
    fn()  # warm-up
    if time.perf_counter() - start > SLOW_SECONDS:
        repeat = min(repeat, 3)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def counters_sql(world: World) -> tuple[str, list] | None:
    """What the Products tab and the Progress report summarise, read by hand from the
    counters; None while the counters (issue 16's access facts) do not exist."""
    if "purchases_productcount" not in connection.introspection.table_names():
        return None
    ids = list(Product.objects.filter(site=world.site).values_list("pk", flat=True))
    marks = ", ".join(["%s"] * len(ids))
    return (
        "SELECT product_id, access_rank, SUM(holders), SUM(holders * lessons_done) "
        f"FROM purchases_productcount WHERE product_id IN ({marks}) GROUP BY 1, 2",
        ids,
    )


def progress_rows_sql(world: World) -> tuple[str, list] | None:
    """The Progress report CSV's rows, every holder of Python Basics in name order, by hand;
    None while the holder rows (issue 16's access facts) do not exist."""
    if "purchases_productholder" not in connection.introspection.table_names():
        return None
    return (
        "SELECT c.name, c.email, h.lessons_done, h.last_completed_at, h.access_rank "
        "FROM contacts_contact c JOIN purchases_productholder h ON h.contact_id = c.id "
        "WHERE c.site_id = %s AND h.product_id = %s ORDER BY c.name, c.email, c.id",
        [world.site.pk, world.python_basics],
    )


def search_sql(site_id: int, text: str) -> tuple[str, list]:
    """The search's first page and count by hand: the very predicate the trigram indexes
    hold on PostgreSQL, a plain LIKE over the contacts on SQLite; `text` escaped as
    Django's icontains escapes it."""
    if connection.vendor == "postgresql":
        match = "(UPPER(name::text) LIKE UPPER(%s) OR UPPER(email::text) LIKE UPPER(%s))"
    else:
        match = "(name LIKE %s ESCAPE '\\' OR email LIKE %s ESCAPE '\\')"
    sql = f"""
        SELECT id, name, email, created_at, last_activity_at,
          (SELECT COUNT(*) FROM contacts_contact n WHERE n.site_id = %s AND {match}) AS total
        FROM contacts_contact WHERE site_id = %s AND {match}
        ORDER BY created_at DESC, id DESC LIMIT 50
    """
    pattern = "%" + connection.ops.prep_for_like_query(text) + "%"
    return sql, [site_id, pattern, pattern] * 2


def measure_issue_pages(site: Site, repeat: int) -> dict:
    """Every page of ISSUE_PAGES: its queries and median seconds; the baselines beside them."""
    world = World.of(site)
    # Keep one connection across requests, as a persistent connection would.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    signed_in = clients()
    pages = {}
    for name, page in ISSUE_PAGES.items():
        url = page_url(page, world)

        def get(client=signed_in[page.who], url=url):
            fetch(client, url)

        with CaptureQueriesContext(connection) as queries:
            get()
        pages[name] = {
            "url": url,
            "queries": len(queries),
            "seconds": median_time(get, repeat),
            "baseline": page.baseline,
        }
    baselines = {}
    statements = {
        "counters": counters_sql(world),
        "search": search_sql(world.site.pk, SEARCH),
        "rows": progress_rows_sql(world),
    }
    for baseline, statement in statements.items():
        if statement is None:
            continue

        def raw(sql=statement[0], params=statement[1]):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        baselines[baseline] = median_time(raw, repeat)
    return {"pages": pages, "baselines": baselines}


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--sizes takes numbers separated by commas, not {text!r}.") from None
    if not sizes or min(sizes) < 1:
        raise CommandError("--sizes takes positive numbers.")
    return sorted(set(sizes))


def judge_sizes(measured: dict) -> None:
    """Each page's ratios: to itself at the smallest size, to the admin changelist and to its
    baseline at the same size (None where the baseline does not exist yet)."""
    smallest = measured[min(measured, key=int)]["pages"]
    for figures in measured.values():
        admin = figures["pages"][ADMIN]["seconds"]
        for name, page in figures["pages"].items():
            base = figures["baselines"].get(page["baseline"])
            page["vs_smallest"] = page["seconds"] / smallest[name]["seconds"]
            page["vs_admin"] = page["seconds"] / admin
            page["vs_baseline"] = page["seconds"] / base if base else None


def scale_table(measured: dict) -> str:
    """The README's table: ms at each size, then the ratios at the largest."""
    sizes = sorted(measured, key=int)
    largest = measured[sizes[-1]]["pages"]
    label = {size: f"{int(size):,}" for size in sizes}
    head = ["page", "queries", *(f"{label[s]} ms" for s in sizes)]
    head += [f"x {label[sizes[0]]}", "x admin", "x SQL"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name, page in largest.items():
        queries = sorted({measured[s]["pages"][name]["queries"] for s in sizes})
        cells = [name, "/".join(map(str, queries))]
        cells += [f"{measured[s]['pages'][name]['seconds'] * 1000:,.1f}" for s in sizes]
        cells += [f"{page['vs_smallest']:.2f}", f"{page['vs_admin']:.2f}"]
        cells.append("" if page["vs_baseline"] is None else f"{page['vs_baseline']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    seeding = ", ".join(
        f"{label[s]}: copied in {measured[s]['copy_seconds']:.0f} s, facts "
        f"{measured[s]['facts_seconds']:.0f} s"
        for s in sizes
        if measured[s]["added"]
    )
    return "\n".join(lines) + (f"\n\nSeeding: {seeding}" if seeding else "")
