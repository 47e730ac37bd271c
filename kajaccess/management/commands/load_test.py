"""The two ends of `make load`: choose what the simulated creators and integrations work
on (and make the integrations' API keys), then check that every revoke and restore they
made, in the dashboard or through the API, left exactly one audit row and a matching state."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from contacts.models import Contact
from kajaccess.actors import Actor
from kajaccess.keys.services import api_key_create
from kajaccess.models import ApiKey, SiteMembership
from products.models import Offer
from purchases.access.facts import reconcile_access_facts
from purchases.models import AccessEvent, AccessStatus, Grant

BENCH = Path(settings.BASE_DIR) / "bench"
TARGETS = BENCH / "load_targets.json"
CHANGES = BENCH / "load_changes.json"
KINDS = [AccessEvent.Kind.REVOKED, AccessEvent.Kind.RESTORED]
# The API's integrations in bench/locustfile.py: one key each, so none reaches its rate.
API_KEYS = 5


class Command(BaseCommand):
    help = "prepare: write bench/load_targets.json; check: compare the run with the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("step", choices=["prepare", "check"])
        parser.add_argument("--grants", type=int, default=400)

    def handle(self, *args, step, grants, **options):
        if step == "prepare":
            self.prepare_run(grants)
        else:
            self.check_run()

    def prepare_run(self, count):
        offer = Offer.objects.get(site__slug="demo-academy", title="Python Bootcamp")
        single = (
            Grant.objects.filter(offer=offer)
            .values("contact")
            .annotate(n=Count("pk"))
            .filter(n=1)
            .values("contact")
        )
        chosen = list(
            Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE, contact__in=single)
            .order_by("pk")
            .values_list("pk", "contact_id")[:count]
        )
        if len(chosen) < 20:
            raise CommandError("Not enough demo grants: run seed_demo --contacts 100000 first.")
        product = offer.products.order_by("pk").first()
        contacts = list(
            Contact.objects.filter(site=offer.site).order_by("?").values_list("pk", flat=True)[:500]
        )
        owner = offer.site.memberships.get(role=SiteMembership.Role.OWNER).user
        keys = [
            api_key_create(
                site=offer.site,
                name=f"Load test {n}",
                scopes=[ApiKey.Scope.READ, ApiKey.Scope.ACCESS],
                expires_at=None,
                actor=Actor.creator(owner),
            ).secret
            for n in range(1, API_KEYS + 1)
        ]
        TARGETS.write_text(
            json.dumps(
                {
                    "offer": offer.pk,
                    "contacts": contacts,
                    "api_keys": keys,
                    "grants": [{"id": g, "contact": c, "product": product.pk} for g, c in chosen],
                    "events_before": AccessEvent.objects.filter(
                        grant_id__in=[g for g, _ in chosen], kind__in=KINDS
                    ).count(),
                }
            )
        )
        self.stdout.write(f"{len(chosen)} grants of {offer.title} to revoke and restore.")

    def check_run(self):
        targets = json.loads(TARGETS.read_text())
        seen = json.loads(CHANGES.read_text())
        ids = [g["id"] for g in targets["grants"]]
        events = AccessEvent.objects.filter(grant_id__in=ids, kind__in=KINDS).order_by("at", "pk")
        made = events.count() - targets["events_before"]
        by_grant = {}
        for grant_id, kind in events.values_list("grant_id", "kind"):
            by_grant.setdefault(grant_id, []).append(kind)
        problems = []
        for grant_id, kinds in by_grant.items():
            if any(a == b for a, b in zip(kinds, kinds[1:], strict=False)):
                problems.append(f"grant {grant_id}: two {kinds} in a row")
        for grant in Grant.objects.filter(pk__in=by_grant):
            expected = "revoked" if by_grant[grant.pk][-1] == "revoked" else "active"
            if grant.status != expected:
                problems.append(
                    f"grant {grant.pk} is {grant.status}, its last event says {expected}"
                )
        reported = seen["revoked"] + seen["restored"]
        self.stdout.write(
            f"Changes reported to the creators: {seen['revoked']} revokes, "
            f"{seen['restored']} restores ({seen['unchanged']} already done), "
            f"{seen.get('through_api', 0)} of the changes through the API; "
            f"audit rows written: {made}."
        )
        if made != reported:
            problems.append(f"{reported} changes reported but {made} audit rows written")
        differences = reconcile_access_facts()
        self.stdout.write(
            f"Access facts against their recomputation: {len(differences)} differences."
        )
        problems += differences
        if problems:
            raise CommandError("; ".join(problems[:10]))
        self.stdout.write(
            self.style.SUCCESS(
                "Every change has exactly one audit row; states match; access facts exact."
            )
        )
