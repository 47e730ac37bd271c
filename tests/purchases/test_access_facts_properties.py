"""Property-based: whatever happens to a site's access, in any order and at any moment, the
access facts the lists read equal their recomputation from the source rows, and the
recomputation agrees with the states' own SQL tests (purchases.access.states).

Steps: grants (starting now or later, ending or not), revokes and restores of whole grants
and of single Products, access dates, the expiry sweep, Products added to and taken out of
an Offer, lessons completed, bulk revokes and grants and their undos, and time passing.
"""

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.test import TestCase as DjangoTestCase
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from contacts.bulk.runner import run_bulk_action, start_bulk_action, start_undo
from contacts.bulk.selection import preview
from contacts.filters import ACCESS_CHOICES, ContactFilter
from contacts.models import Contact
from kajaccess.actors import Actor, ActorKind
from products.models import LessonCompletion
from products.services import complete_lesson
from purchases.access import services
from purchases.access.facts import reconcile_access_facts
from purchases.access.states import (
    AccessState,
    access_rank_case,
    current_access_q,
    current_grant_q,
    held_access_q,
    revoked_access_q,
)
from purchases.billing.runs import process_access
from purchases.models import AccessEvent, BulkAction, Grant, ProductAccess, Subscription
from purchases.offers.services import add_product_to_offer, remove_product_from_offer
from purchases.reports.selectors import (
    offer_customer_counts,
    product_summaries,
    weekly_access_changes,
)
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

CONTACTS, PRODUCTS, OFFERS = 4, 3, 2

contact = st.integers(0, CONTACTS - 1)
offer = st.integers(0, OFFERS - 1)
product = st.integers(0, PRODUCTS - 1)
days = st.sampled_from([None, 1, 3, 10])

steps = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), contact, offer, st.sampled_from([0, 0, 2])),
        st.tuples(st.just("revoke"), contact, offer),
        st.tuples(st.just("restore"), contact, offer),
        st.tuples(st.just("revoke product"), contact, offer, product),
        st.tuples(st.just("restore product"), contact, offer, product),
        st.tuples(st.just("end"), contact, offer, days),
        st.tuples(st.just("add product"), offer, product),
        st.tuples(st.just("remove product"), offer, product),
        st.tuples(st.just("complete"), contact, product),
        st.tuples(st.just("bulk"), st.sampled_from(["revoke_offer", "grant_offer"]), offer),
        st.tuples(
            st.just("undo"),
        ),
        st.tuples(
            st.just("sweep"),
        ),
        st.tuples(st.just("wait"), st.sampled_from([1, 2, 5])),
    ),
    min_size=1,
    max_size=14,
)

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class World:
    """A site of a few contacts; two Offers sharing a Product; a clock that moves on."""

    def __init__(self):
        self.member = MembershipFactory()
        self.site = self.member.site
        self.actor = Actor.creator(self.member.user)
        self.products = [ProductFactory(site=self.site, lessons=2) for _ in range(PRODUCTS)]
        self.offers = [
            OfferFactory(site=self.site, products=self.products[:2]),
            OfferFactory(site=self.site, products=self.products[1:2]),
        ]
        self.contacts = [ContactFactory(site=self.site) for _ in range(CONTACTS)]
        self.now = timezone.now()
        self.bulk_actions: list[BulkAction] = []

    def grants(self, c: int, o: int):
        return Grant.objects.filter(contact=self.contacts[c], offer=self.offers[o]).order_by("-pk")

    def step(self, step: tuple) -> None:
        # Some services take the present from the clock: the world is never behind it.
        self.now = max(self.now, timezone.now())
        kind, *args = step
        if kind == "grant":
            c, o, later = args
            services.grant_offer_to_contacts(
                offer=self.offers[o],
                contact_ids=[self.contacts[c].pk],
                actor=self.actor,
                starts_at=self.now + timedelta(days=later) if later else None,
                now=self.now,
            )
        elif kind == "revoke":
            ids = self.grants(*args).values_list("pk", flat=True)
            services.revoke_grants(grant_ids=list(ids), actor=self.actor, now=self.now)
        elif kind == "restore":
            if grant := self.grants(*args).first():
                services.restore_grants(grant_ids=[grant.pk], actor=self.actor, now=self.now)
        elif kind in ("revoke product", "restore product"):
            c, o, p = args
            grant = self.grants(c, o).first()
            chosen = self.products[p]
            if grant and grant.product_accesses.filter(product=chosen, removed_at=None).exists():
                if kind == "revoke product":
                    services.revoke_product(
                        grant=grant, product=chosen, actor=self.actor, now=self.now
                    )
                else:
                    services.restore_access(grant=grant, product=chosen, actor=self.actor)
        elif kind == "end":
            c, o, in_days = args
            if grant := self.grants(c, o).first():
                end = self.now + timedelta(days=in_days) if in_days else None
                services.set_end_dates(ends={grant.pk: end}, actor=self.actor, now=self.now)
        elif kind == "add product":
            o, p = args
            add_product_to_offer(offer=self.offers[o], product=self.products[p], actor=self.actor)
        elif kind == "remove product":
            o, p = args
            remove_product_from_offer(
                offer=self.offers[o], product=self.products[p], actor=self.actor
            )
        elif kind == "complete":
            c, p = args
            done = LessonCompletion.objects.filter(contact=self.contacts[c]).values("lesson")
            lesson = self.products[p].lessons.exclude(pk__in=done).first()
            if lesson is not None:
                complete_lesson(contact=self.contacts[c], lesson=lesson, now=self.now)
        elif kind == "bulk":
            self.bulk(*args)
        elif kind == "undo":
            self.undo()
        elif kind == "sweep":
            process_access(now=self.now)
        elif kind == "wait":
            self.now += timedelta(days=args[0])

    def bulk(self, action: str, o: int) -> None:
        params = {"offer": self.offers[o].pk}
        selection = {"ids": [c.pk for c in self.contacts]}
        counted = preview(
            BulkAction(
                site=self.site,
                created_by=self.member.user,
                action=action,
                params=params,
                selection=selection,
            )
        )
        with DjangoTestCase.captureOnCommitCallbacks(execute=False):
            bulk = start_bulk_action(
                site=self.site,
                user=self.member.user,
                action=action,
                params=params,
                selection=selection,
                expected_total=counted.selected,
            )
        self.bulk_actions.append(run_bulk_action(bulk.pk))

    def undo(self) -> None:
        for original in reversed(self.bulk_actions):
            if original.changed and not original.undone_by.exists():
                with DjangoTestCase.captureOnCommitCallbacks(execute=False):
                    undo = start_undo(site=self.site, user=self.member.user, original=original)
                run_bulk_action(undo.pk)
                return


def expected_by_sql(world: World) -> dict:
    """What the lists must say, from the states' SQL tests alone (no facts read)."""
    now = world.now
    accesses = ProductAccess.objects.filter(grant__contact=OuterRef("pk"))
    contacts = {
        c.pk: (c.n > 0, c.opens, c.revoked)
        for c in Contact.objects.filter(site=world.site).annotate(
            n=Count("grants"),
            opens=Count(
                "grants__product_accesses__product",
                filter=current_access_q("grants__product_accesses__", now=now),
                distinct=True,
            ),
            revoked=Exists(accesses.filter(revoked_access_q())),
        )
    }
    best: dict[tuple[int, int], int] = {}
    for contact_id, product_id, rank in (
        ProductAccess.objects.filter(held_access_q(), grant__site=world.site)
        .annotate(rank=access_rank_case(now))
        .values_list("grant__contact_id", "product_id", "rank")
    ):
        key = (contact_id, product_id)
        best[key] = min(rank, best.get(key, rank))
    return {"contacts": contacts, "best": best}


def expected_weeks(world: World, product) -> list[tuple]:
    """The Progress report's chart, counted from the audit trail alone (no facts read)."""
    kinds = AccessEvent.Kind
    mondays = [week.starts_on for week in weekly_access_changes(product, now=world.now)]
    events = (
        AccessEvent.objects.filter(site=world.site)
        .filter(
            Q(
                kind__in=[kinds.GRANTED, kinds.REVOKED],
                product__isnull=True,
                grant__in=ProductAccess.objects.filter(product=product).values("grant"),
            )
            | Q(kind=kinds.PRODUCT_REVOKED, product=product)
        )
        .exclude(actor_kind=ActorKind.EXPIRY)
    )
    counted = {monday: [0, 0] for monday in mondays}
    for kind, at in events.values_list("kind", "at"):
        day = timezone.localtime(at).date()
        monday = day - timedelta(days=day.weekday())
        if monday in counted:
            counted[monday][kind != kinds.GRANTED] += 1
    return [(monday, *counted[monday]) for monday in mondays]


class AccessFactsProperty(TestCase):
    @EXAMPLES
    @given(steps=steps)
    # A Product revoked alone counts in its chart.
    @example(steps=[("grant", 0, 0, 0), ("revoke product", 0, 0, 0)])
    def test_the_facts_always_equal_their_recomputation(self, steps):
        world = World()
        for step in steps:
            world.step(step)
            world.now = max(world.now, timezone.now())
            self.assertEqual(reconcile_access_facts(now=world.now), [], step)
        expected = expected_by_sql(world)
        stored = {
            c.pk: (c.is_customer, c.products_count, c.has_revoked_access)
            for c in Contact.objects.filter(site=world.site)
        }
        self.assertEqual(stored, expected["contacts"])
        # The Products and Offers tabs read the counters (kept at the world's moment, which
        # is ahead of the real one, so reading them brings nothing further up to date).
        summaries = {summary.product.pk: summary for summary in product_summaries(world.site)}
        for p in world.products:
            ranks = [rank for (_, pk), rank in expected["best"].items() if pk == p.pk]
            summary = summaries[p.pk]
            self.assertEqual(summary.holders, len(ranks))
            self.assertEqual(summary.with_access, ranks.count(AccessState.ACTIVE.rank))
            self.assertEqual(summary.starts_later, ranks.count(AccessState.SCHEDULED.rank))
            self.assertEqual(summary.revoked, ranks.count(AccessState.REVOKED.rank))
            self.assertEqual(summary.expired, ranks.count(AccessState.EXPIRED.rank))
            chart = weekly_access_changes(p, now=world.now)
            self.assertEqual(
                [(w.starts_on, w.granted, w.revoked) for w in chart], expected_weeks(world, p)
            )
        customers = {
            o.pk: Grant.objects.filter(current_grant_q(now=world.now), offer=o)
            .values("contact")
            .distinct()
            .count()
            for o in world.offers
        }
        counted = offer_customer_counts(world.site)
        self.assertEqual({pk: counted.get(pk, 0) for pk in customers}, customers)
        # The Contacts tab's count of a filter set alone, read from the counters, is the
        # number of rows the filter lists.
        alone = [{"access": value} for value, _ in ACCESS_CHOICES]
        alone += [{"billing": value} for value in Subscription.Status.values]
        alone += [{"product": p.pk} for p in world.products]
        alone += [{"offer": o.pk} for o in world.offers]
        for chosen in alone:
            contacts = Contact.objects.filter(site=world.site)
            filters = ContactFilter(chosen, queryset=contacts, site=world.site)
            self.assertEqual(filters.counted(), filters.qs.count(), chosen)
