"""`make bench`: how fast KajAccess is on the demo data, against the Django admin and raw SQL.

Every figure is the median of several runs after a warm-up, measured in-process through
Django's test client, with baselines taken in the same run so that the ratios, not the
absolute times, are what to read.
"""

import argparse
import json
import time
import tracemalloc
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.bulk import runner
from contacts.bulk.emails import MAX_EMAILS
from contacts.bulk.pasted import pasted_selection_create
from contacts.bulk.runner import run_bulk_action, start_bulk_action, start_undo
from contacts.export import csv_lines
from contacts.filters import contacts_matching
from contacts.imports.plan import Choices
from contacts.imports.rows import Mapping
from contacts.imports.steps import import_check, import_start, import_upload, preview_token
from contacts.models import Contact, PastedSelection
from contacts.search import forget_common_trigrams
from contacts.services import contacts_recount
from kajaccess.demo.copies import grow_demo_academy, refresh_all_access_facts, settle_tables
from kajaccess.models import Site
from kajaccess.scale import (
    judge_sizes,
    measure_issue_pages,
    median_time,
    parse_sizes,
    scale_table,
    search_sql,
)
from products.models import Offer, Product
from purchases.models import AccessStatus, Grant

RESULTS = Path(settings.BASE_DIR) / "bench" / "results.json"
# The generated contacts past the first block are copies of it (kajaccess.demo.copies).
BLOCK = 10_000


def raw_contacts_sql(vendor: str) -> str:
    tags = (
        "string_agg(t.name, ', ' ORDER BY t.name)"
        if vendor == "postgresql"
        else "group_concat(t.name, ', ')"
    )
    return f"""
        SELECT c.id, c.name, c.email, c.created_at, c.last_activity_at,
          (SELECT COUNT(DISTINCT pa.product_id)
             FROM purchases_productaccess pa
             JOIN purchases_grant g ON g.id = pa.grant_id
            WHERE g.contact_id = c.id AND pa.status = 'active' AND pa.removed_at IS NULL
              AND g.status = 'active' AND g.starts_at <= %s
              AND (g.expires_at IS NULL OR g.expires_at > %s)) AS total_products,
          EXISTS (SELECT 1 FROM purchases_grant g2 WHERE g2.contact_id = c.id) AS is_customer,
          (SELECT {tags} FROM contacts_contacttag ct JOIN contacts_tag t ON t.id = ct.tag_id
            WHERE ct.contact_id = c.id) AS tags,
          (SELECT COUNT(*) FROM contacts_contact n WHERE n.site_id = %s) AS total
        FROM (
          SELECT id, name, email, created_at, last_activity_at FROM contacts_contact
          WHERE site_id = %s ORDER BY created_at DESC, id DESC LIMIT 50
        ) c
        ORDER BY c.created_at DESC, c.id DESC
    """


def measure_search_and_library(site, repeat: int, text: str = "customer0001") -> dict:
    """The Contacts tab searching `text` against the same rows by hand, and ada@example.com's
    Library against the admin changelist of the whole site, in the same run."""
    User = get_user_model()
    dashboard, admin, customer = Client(), Client(), Client()
    dashboard.force_login(User.objects.get(email="creator@example.com"))
    admin.force_login(User.objects.get(email="support@example.com"))
    customer.force_login(Contact.objects.get(site=site, email="ada@example.com").user)
    pages = {
        "search": (dashboard, f"{reverse('contacts:list')}?per_page=50&q={text}"),
        "library": (customer, reverse("library:index")),
        "admin_changelist": (
            admin,
            f"{reverse('admin:contacts_contact_changelist')}?site__id__exact={site.pk}",
        ),
    }
    figure = {"text": text, "found": contacts_matching(site, f"q={text}").count()}
    for name, (client, url) in pages.items():

        def get(client=client, url=url):
            if client.get(url).status_code != 200:
                raise CommandError(f"{url} did not answer 200")

        with CaptureQueriesContext(connection) as queries:
            get()
        figure[f"{name}_queries"] = len(queries)
        figure[f"{name}_seconds"] = median_time(get, repeat)
    sql, params = search_sql(site.pk, text)

    def by_hand():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    figure["by_hand_seconds"] = median_time(by_hand, repeat)
    figure["search_vs_by_hand"] = figure["search_seconds"] / figure["by_hand_seconds"]
    figure["library_vs_admin"] = figure["library_seconds"] / figure["admin_changelist_seconds"]
    return figure


def report_search_and_library(w, figure: dict) -> None:
    w(
        f'Search "{figure["text"]}" ({figure["found"]:,} found): '
        f"{figure['search_seconds'] * 1000:.1f} ms, {figure['search_queries']} queries; by hand "
        f"{figure['by_hand_seconds'] * 1000:.1f} ms ({figure['search_vs_by_hand']:.2f}x)"
    )
    w(
        f"Library of ada@example.com: {figure['library_seconds'] * 1000:.1f} ms, "
        f"{figure['library_queries']} queries; admin changelist "
        f"{figure['admin_changelist_seconds'] * 1000:.1f} ms ({figure['library_vs_admin']:.2f}x)"
    )


class Command(BaseCommand):
    help = "Measure the dashboard, bulk revoke, CSV export and Paste emails on the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--output", default=str(RESULTS))
        parser.add_argument("--import-rows", type=int, default=100_000)
        parser.add_argument(
            "--sizes",
            default="",
            help="Generated contacts to measure every page at, smallest first, comma-separated "
            "(e.g. 10000,100000,1000000): the site grows by copies of its first "
            f"{BLOCK:,} between them.",
        )
        parser.add_argument("--block", type=int, default=BLOCK, help=argparse.SUPPRESS)
        parser.add_argument(
            "--no-reconcile",
            action="store_true",
            help="Trust the facts the copies carry: no reconcile_access_facts --fix after each "
            "growth (it walks every contact: about 3 minutes at 100,000 on PostgreSQL).",
        )
        parser.add_argument(
            "--pages-only",
            action="store_true",
            help="Only the pages at each size: no bulk revoke, export, paste or import.",
        )

    def handle(
        self, *args, repeat, output, import_rows, sizes, block, pages_only, no_reconcile, **options
    ):
        if repeat < 1:
            raise CommandError("--repeat must be at least 1.")
        site = Site.objects.filter(slug="demo-academy").first()
        if site is None:
            raise CommandError("No demo data: run `manage.py seed_demo --contacts 100000` first.")
        User = get_user_model()
        creator = User.objects.get(email="creator@example.com")
        bootcamp = Offer.objects.get(site=site, title="Python Bootcamp")
        results = {"database": connection.vendor, "repeat": repeat}
        if sizes:
            results["sizes"] = self.measure_sizes(
                site, parse_sizes(sizes), block, repeat, reconcile=not no_reconcile, output=output
            )
            self.stdout.write("\n" + scale_table(results["sizes"]))
        results["contacts"] = Contact.objects.filter(site=site).count()
        results["grants"] = Grant.objects.filter(site=site).count()
        self.stdout.write(
            f"{results['contacts']:,} contacts, {results['grants']:,} grants on {connection.vendor}"
        )
        if pages_only:
            self.write(results, output)
            return
        results["pages"] = self.measure_pages(site, creator, bootcamp, repeat)
        results["search_and_library"] = measure_search_and_library(site, repeat)
        results["export"] = self.measure_export(site)
        results["paste_emails"] = self.measure_paste(site, creator, MAX_EMAILS, repeat)
        results["revoke_and_undo"] = measure_revoke_and_undo(site, creator)
        results["bulk_revoke"] = self.measure_bulk_revoke(site, creator, bootcamp)
        results["import"] = self.measure_import(site, creator, bootcamp, import_rows)
        results["ratios"], results["targets"] = self.judge(results)
        self.report(results)
        self.write(results, output)

    def write(self, results, output):
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(results, indent=2) + "\n")
        self.stdout.write(f"\nWrote {output}")

    def measure_sizes(
        self, site, sizes: list[int], block: int, repeat: int, reconcile=True, output=None
    ) -> dict:
        """Grow the site to each size in turn (copies of its first block, then the access facts
        recomputed once) and measure every page of the issue's table there."""
        measured = {}
        for size in sizes:
            self.stdout.write(f"\nGrowing Demo Academy to {size:,} generated contacts")
            start = time.perf_counter()
            added = grow_demo_academy(
                site=site, contacts=size, block=block, report=self.stdout.write
            )
            # The copies are written straight into the table: the site's total counted once,
            # and the search's statistics read again.
            contacts_recount(site=site)
            forget_common_trigrams()
            copied = time.perf_counter()
            if not added:
                # As a grown site is: the first size is measured as settled as the others.
                settle_tables()
                facts = "nothing added"
            elif reconcile:
                facts = refresh_all_access_facts()
            else:
                facts = "carried by the copies, not reconciled"
            done = time.perf_counter()
            self.stdout.write(f"  {added:,} added in {copied - start:.1f} s; {facts}")
            measured[str(size)] = {
                "contacts": Contact.objects.filter(site=site).count(),
                "grants": Grant.objects.filter(site=site).count(),
                "added": added,
                "copy_seconds": copied - start,
                "facts_seconds": done - copied,
                "facts": facts,
                **measure_issue_pages(site, repeat),
            }
            if output:
                # Written after each size, so that a long run stopped keeps what it measured.
                judge_sizes(measured)
                self.write({"database": connection.vendor, "sizes": measured}, output)
        judge_sizes(measured)
        return measured

    def measure_pages(self, site, creator, bootcamp, repeat) -> dict:
        """Each page's queries and median time, the admin's and the raw SQL's beside them."""
        support = get_user_model().objects.get(email="support@example.com")
        ada = Contact.objects.get(site=site, email="ada@example.com")
        advanced = Product.objects.get(site=site, title="Advanced Python")
        # Keep one connection across requests, as a persistent connection would.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        dashboard = Client()
        dashboard.force_login(creator)
        admin = Client()
        admin.force_login(support)
        contacts_url = reverse("contacts:list")
        pages = {
            "Contacts tab (50 rows)": (dashboard, f"{contacts_url}?per_page=50"),
            "Contacts tab, filtered by an offer": (
                dashboard,
                f"{contacts_url}?per_page=50&offer={bootcamp.pk}",
            ),
            "Contact preview": (dashboard, reverse("contacts:preview", args=[ada.pk])),
            "View More": (dashboard, reverse("contacts:products", args=[ada.pk])),
            "More Info": (dashboard, reverse("contacts:more_info", args=[ada.pk, advanced.pk])),
            "Purchases tab": (dashboard, reverse("contacts:purchases", args=[ada.pk])),
            "Admin contact changelist (50 rows)": (
                admin,
                f"{reverse('admin:contacts_contact_changelist')}?site__id__exact={site.pk}",
            ),
        }
        measured = {}
        for name, (client, url) in pages.items():

            def get(client=client, url=url):
                response = client.get(url)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")

            with CaptureQueriesContext(connection) as queries:
                get()
            measured[name] = {"url": url, "queries": len(queries)}
            measured[name]["seconds"] = median_time(get, repeat)

        sql = raw_contacts_sql(connection.vendor)

        def raw():
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute(sql, [now, now, site.pk, site.pk])
                cursor.fetchall()

        measured["Raw SQL (same 50 rows and count)"] = {
            "url": None,
            "seconds": median_time(raw, repeat),
            "queries": 1,
        }
        return measured

    @staticmethod
    def judge(results) -> tuple[dict, dict]:
        """The ratios that matter, each against a baseline measured in the same run."""
        page = results["pages"]
        tab = page["Contacts tab (50 rows)"]["seconds"]
        ratios = {
            "contacts_tab_vs_admin": tab / page["Admin contact changelist (50 rows)"]["seconds"],
            "contacts_tab_vs_raw_sql": tab / page["Raw SQL (same 50 rows and count)"]["seconds"],
            "bulk_revoke_vs_raw_sql": results["bulk_revoke"]["bulk_seconds"]
            / results["bulk_revoke"]["raw_sql_seconds"],
            "import_vs_raw_contact_insert": (
                results["import"]["check_seconds"] + results["import"]["run_seconds"]
            )
            / results["import"]["raw_insert_seconds"],
            "import_run_peak_vs_a_tenth": results["import"]["run_peak_mb"]
            / results["import"]["tenth_run_peak_mb"],
            "paste_emails_vs_by_hand": results["paste_emails"]["seconds"]
            / results["paste_emails"]["by_hand_seconds"],
            **{
                f"bulk_{step}_of_biggest_offer_vs_raw_sql": figures["ratio"]
                for step, figures in results["revoke_and_undo"].items()
                if step in ("revoke", "undo")
            },
        }
        targets = {
            "contacts_tab_no_slower_than_admin": ratios["contacts_tab_vs_admin"] <= 1.0,
            "contacts_tab_within_5x_raw_sql": ratios["contacts_tab_vs_raw_sql"] <= 5.0,
            "bulk_revoke_within_5x_raw_sql": ratios["bulk_revoke_vs_raw_sql"] <= 5.0,
            "csv_peak_under_200_mb": results["export"]["peak_mb"] < 200,
            "import_in_minutes": results["import"]["check_seconds"]
            + results["import"]["run_seconds"]
            < 600,
            # Flat: ten times the rows, not ten times the memory (chunks of CHUNK_SIZE rows).
            "import_run_memory_flat": ratios["import_run_peak_vs_a_tenth"] < 2.0,
            "paste_emails_within_5x_by_hand": ratios["paste_emails_vs_by_hand"] <= 5.0,
            "bulk_revoke_of_biggest_offer_within_2x_raw_sql": (
                ratios["bulk_revoke_of_biggest_offer_vs_raw_sql"] <= 2.0
            ),
            "bulk_undo_of_biggest_offer_within_2x_raw_sql": (
                ratios["bulk_undo_of_biggest_offer_vs_raw_sql"] <= 2.0
            ),
        }
        return ratios, targets

    def measure_export(self, site) -> dict:
        start = time.perf_counter()
        # Each piece holds a few hundred lines; a name or email holds no line break.
        rows = sum(piece.count("\r\n") for piece in csv_lines(contacts_matching(site, ""))) - 1
        seconds = time.perf_counter() - start
        tracemalloc.start()
        for _ in csv_lines(contacts_matching(site, "")):
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"rows": rows, "seconds": seconds, "peak_mb": peak / 2**20}

    def measure_paste(self, site, creator, emails: int, repeat: int) -> dict:
        """Paste emails (parse, match, store as a selection) against the same work by hand.

        Half the list is the site's contacts, in the case a spreadsheet may give them, and
        the rest matches nobody. The baseline splits the text, reads every email of the site
        in one query and inserts the links in one statement. Each run is rolled back.
        """
        known = list(
            Contact.objects.filter(site=site)
            .order_by("pk")
            .values_list("email", flat=True)[: emails // 2]
        )
        unknown = [f"nobody{n}@bench.example" for n in range(emails - len(known))]
        text = "\n".join([email.upper() for email in known] + unknown)
        links = PastedSelection.contacts.through._meta.db_table
        stored = {}

        def paste():
            with transaction.atomic():
                stored["selection"] = pasted_selection_create(site=site, user=creator, text=text)
                stored["matched"] = stored["selection"].contacts.count()
                transaction.set_rollback(True)

        def by_hand():
            with transaction.atomic():
                wanted = {entry.lower() for entry in text.split()}
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id, email FROM contacts_contact WHERE site_id = %s", [site.pk]
                    )
                    ids = [pk for pk, email in cursor.fetchall() if email.lower() in wanted]
                    selection = PastedSelection.objects.create(site=site, created_by=creator)
                    cursor.executemany(
                        f"INSERT INTO {links} (pastedselection_id, contact_id) VALUES (%s, %s)",
                        [(selection.pk, pk) for pk in ids],
                    )
                transaction.set_rollback(True)

        seconds = median_time(paste, repeat)
        return {
            "emails": emails,
            "matched": stored["matched"],
            "not_found": len(stored["selection"].not_found),
            "seconds": seconds,
            "by_hand_seconds": median_time(by_hand, repeat),
        }

    def measure_bulk_revoke(self, site, creator, offer) -> dict:
        active = Q(offer=offer, status=AccessStatus.ACTIVE)
        grants = Grant.objects.filter(active).count()
        now = timezone.now()
        # The baseline changes the same rows by hand, then rolls back: a copy of the data.
        with transaction.atomic():
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE purchases_grant SET status = 'revoked', revoked_at = %s, "
                    "revoked_by_id = %s, revoked_via = 'creator', revoke_reason = 'bench' "
                    "WHERE offer_id = %s AND status = 'active'",
                    [now, creator.pk, offer.pk],
                )
                cursor.execute(
                    "INSERT INTO purchases_accessevent "
                    "(site_id, contact_id, grant_id, kind, actor_id, actor_kind, actor_role, reason,"
                    " at, details) SELECT site_id, contact_id, id, 'revoked', %s, 'creator',"
                    " 'owner', 'bench', %s, '{}' "
                    "FROM purchases_grant WHERE offer_id = %s AND revoked_at = %s",
                    [creator.pk, now, offer.pk, now],
                )
            raw_seconds = time.perf_counter() - start
            transaction.set_rollback(True)

        start = time.perf_counter()
        bulk = start_revoke_of_every_grant(site, creator, offer)
        run_bulk_action(bulk.pk)
        bulk_seconds = time.perf_counter() - start
        bulk.refresh_from_db()
        left = Grant.objects.filter(active).count()
        events = bulk.events.aggregate(n=Count("pk"))["n"]
        return {
            "grants": grants,
            "changed": bulk.changed,
            "events": events,
            "left_active": left,
            "status": bulk.status,
            "bulk_seconds": bulk_seconds,
            "raw_sql_seconds": raw_seconds,
            "bulk_action": bulk.pk,
        }

    def import_file(self, site, rows: int, prefix: str) -> bytes:
        """A file of `rows` contacts: half the site's own, in capitals, the rest new, 100 bad."""
        known = Contact.objects.filter(site=site).order_by("pk").values_list("email", flat=True)
        lines = ["Email,Name,Tags"]
        lines += [f"{email.upper()},,{prefix}" for email in known[: rows // 2]]
        new = rows - len(lines) + 1 - 100
        lines += [f"{prefix}-{i}@example.com,New Customer {i},{prefix}" for i in range(new)]
        lines += [f"not an email {i},," for i in range(100)]
        return "\n".join(lines).encode()

    def run_import(self, site, creator, offer, data: bytes, *, traced: bool) -> dict:
        """Upload, check and run one import; its times, or (traced) its peaks of memory."""
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        contact_import = import_upload(site=site, user=creator, name="bench.csv", data=data)
        mapping = Mapping(email=0, name=1, tags=2)
        tally = import_check(
            contact_import=contact_import, mapping=mapping, choices=Choices(offer=offer)
        )
        checked = time.perf_counter()
        check_peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            # The run's own memory: what the check left alive is not the run's.
            tracemalloc.stop()
            tracemalloc.start()
        bulk = import_start(
            contact_import=contact_import, user=creator, token=preview_token(contact_import)
        )
        run_bulk_action(bulk.pk)
        done = time.perf_counter()
        run_peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
        bulk.refresh_from_db()
        return {
            "rows": tally.rows,
            "created": bulk.outcome.get("counted", {}).get("added", 0),
            "granted": bulk.outcome.get("counted", {}).get("granted", 0),
            "status": bulk.status,
            "check_seconds": checked - start,
            "run_seconds": done - checked,
            "check_peak_mb": check_peak / 2**20,
            "run_peak_mb": run_peak / 2**20,
        }

    def measure_import(self, site, creator, offer, rows: int) -> dict:
        """A file of `rows` contacts imported with an Offer: timed, then again (another file of
        as many rows) with its memory traced, and beside it a tenth of the rows, so that the
        run's peak can be read as flat; the baseline is a raw multi-row INSERT of the same
        number of contacts, rolled back."""
        data = self.import_file(site, rows, "bench-import")
        timed = self.run_import(site, creator, offer, data, traced=False)
        traced = self.run_import(
            site, creator, offer, self.import_file(site, rows, "bench-memory"), traced=True
        )
        tenth = self.run_import(
            site, creator, offer, self.import_file(site, rows // 10, "bench-tenth"), traced=True
        )
        now = timezone.now()
        with transaction.atomic():
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO contacts_contact (site_id, email, name, test_card_declines, "
                    "created_at) VALUES (%s, %s, %s, %s, %s)",
                    [
                        (site.pk, f"raw-{i}@example.com", f"Raw {i}", False, now)
                        for i in range(rows)
                    ],
                )
            raw_seconds = time.perf_counter() - start
            transaction.set_rollback(True)
        return {
            **timed,
            "file_mb": len(data) / 2**20,
            "check_peak_mb": traced["check_peak_mb"],
            "run_peak_mb": traced["run_peak_mb"],
            "tenth_run_peak_mb": tenth["run_peak_mb"],
            "raw_insert_seconds": raw_seconds,
        }

    def report(self, results):
        w = self.stdout.write
        w("")
        w(f"{'Page':<42} {'median ms':>10} {'queries':>8}")
        for name, page in results["pages"].items():
            w(f"{name:<42} {page['seconds'] * 1000:>10.1f} {page['queries']:>8}")
        bulk = results["bulk_revoke"]
        w("")
        w(
            f"Bulk revoke of {bulk['grants']:,} grants: {bulk['bulk_seconds']:.2f} s "
            f"({bulk['changed']:,} changed, {bulk['events']:,} events, {bulk['left_active']} left); "
            f"raw SQL {bulk['raw_sql_seconds']:.2f} s"
        )
        for step, figures in results["revoke_and_undo"].items():
            if step in ("revoke", "undo"):
                w(
                    f"Bulk {step} of {results['revoke_and_undo']['grants']:,} grants of the "
                    f"biggest offer: {figures['seconds']:.2f} s ({figures['changed']:,} changed, "
                    f"{figures['queries_per_chunk']:.1f} queries a chunk); raw SQL "
                    f"{figures['raw_sql_seconds']:.2f} s: {figures['ratio']:.2f}x"
                )
        paste = results["paste_emails"]
        w(
            f"Paste {paste['emails']:,} emails ({paste['matched']:,} matched, "
            f"{paste['not_found']:,} not found): {paste['seconds']:.2f} s; "
            f"by hand {paste['by_hand_seconds']:.2f} s"
        )
        export = results["export"]
        w(
            f"Export CSV of {export['rows']:,} contacts: {export['seconds']:.2f} s, "
            f"peak {export['peak_mb']:.1f} MB"
        )
        imported = results["import"]
        w(
            f"Import of {imported['rows']:,} rows ({imported['file_mb']:.1f} MB, "
            f"{imported['created']:,} new, {imported['granted']:,} granted): check "
            f"{imported['check_seconds']:.1f} s, run {imported['run_seconds']:.1f} s; peak "
            f"{imported['check_peak_mb']:.0f} MB checking, {imported['run_peak_mb']:.0f} MB "
            f"running ({imported['tenth_run_peak_mb']:.0f} MB for a tenth of the rows); "
            f"raw INSERT {imported['raw_insert_seconds']:.2f} s"
        )
        report_search_and_library(w, results["search_and_library"])
        w("")
        for name, ratio in results["ratios"].items():
            w(f"{name:<28} {ratio:6.2f}x")
        for name, met in results["targets"].items():
            w(f"{name:<36} {'met' if met else 'MISSED'}")


def start_revoke_of_every_grant(site, creator, offer):
    """A bulk revoke of the Offer for every contact the Contacts tab finds holding it."""
    return start_bulk_action(
        site=site,
        user=creator,
        action="revoke_offer",
        params={"offer": offer.pk},
        selection={"all": True, "query": f"offer={offer.pk}"},
        reason="bench",
    )


def _raw_seconds(statements: list[tuple[str, list]]) -> float:
    """The time of these statements run by hand, then rolled back: a copy of the data."""
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    return seconds


def _run_counted(bulk) -> dict:
    """Run a started bulk action, counting its statements (without keeping them)."""
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    start = time.perf_counter()
    with connection.execute_wrapper(count):
        run_bulk_action(bulk.pk)
    seconds = time.perf_counter() - start
    bulk.refresh_from_db()
    chunks = max(1, -(-bulk.total // runner.CHUNK_SIZE))
    return {
        "changed": bulk.changed,
        "status": bulk.status,
        "run_seconds": seconds,
        "queries": statements,
        "queries_per_chunk": statements / chunks,
    }


def measure_revoke_and_undo(site, creator) -> dict:
    """Revoke every grant of the site's biggest Offer as a bulk action, then Undo it.

    Each step (confirming it, which stores its contacts, and its run) against the raw SQL
    UPDATE plus audit INSERT of the same rows, taken just before it and rolled back. The
    Undo gives every grant back, so what is measured after this finds the data as it was.
    """
    offer = (
        Offer.objects.filter(site=site)
        .annotate(held=Count("grants", filter=Q(grants__status=AccessStatus.ACTIVE)))
        .order_by("-held", "pk")
        .first()
    )
    now = timezone.now()
    event_columns = (
        "INSERT INTO purchases_accessevent (site_id, contact_id, grant_id, kind, actor_id, "
        "actor_kind, actor_role, reason, at, details) SELECT site_id, contact_id, id, %s, %s, "
        "'creator', 'owner', 'bench', %s, '{}' FROM purchases_grant "
    )
    revoke_raw = _raw_seconds(
        [
            (
                "UPDATE purchases_grant SET status = 'revoked', revoked_at = %s, "
                "revoked_by_id = %s, revoked_via = 'creator', revoke_reason = 'bench' "
                "WHERE offer_id = %s AND status = 'active'",
                [now, creator.pk, offer.pk],
            ),
            (
                event_columns + "WHERE offer_id = %s AND revoked_at = %s",
                ["revoked", creator.pk, now, offer.pk, now],
            ),
        ]
    )
    start = time.perf_counter()
    revoke = start_revoke_of_every_grant(site, creator, offer)
    revoke_figures = {"start_seconds": time.perf_counter() - start, **_run_counted(revoke)}
    revoked = (
        "id IN (SELECT grant_id FROM purchases_accessevent "
        "WHERE bulk_action_id = %s AND kind = 'revoked')"
    )
    undo_raw = _raw_seconds(
        [
            (
                "UPDATE purchases_grant SET status = 'active', revoked_at = NULL, "
                "revoked_by_id = NULL, revoked_by_key_id = NULL, revoked_via = '', "
                f"revoke_reason = '' WHERE {revoked}",
                [revoke.pk],
            ),
            (event_columns + f"WHERE {revoked}", ["restored", creator.pk, now, revoke.pk]),
        ]
    )
    start = time.perf_counter()
    undo = start_undo(site=site, user=creator, original=revoke, reason="bench")
    undo_figures = {"start_seconds": time.perf_counter() - start, **_run_counted(undo)}
    figures = {"offer": offer.title, "grants": revoke.changed}
    for step, measured, raw in (
        ("revoke", revoke_figures, revoke_raw),
        ("undo", undo_figures, undo_raw),
    ):
        seconds = measured["start_seconds"] + measured["run_seconds"]
        figures[step] = {
            **measured,
            "seconds": seconds,
            "raw_sql_seconds": raw,
            "ratio": seconds / raw,
        }
    return figures
