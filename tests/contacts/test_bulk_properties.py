"""Property-based: whatever the filters, and whatever changes between the confirmation and
the run (tags added, removed or deleted, grants revoked or granted, contacts created or
moved to another site), a bulk action's run never touches a contact outside the set the
creator confirmed, and its total is the number the preview showed. An undo changes only
grants whose latest access decision is still the bulk action's own."""

from urllib.parse import urlencode

from django.test import TestCase as DjangoTestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from contacts import services as contact_services
from contacts.bulk import runner
from contacts.bulk.runner import run_bulk_action, start_bulk_action, start_undo
from contacts.bulk.selection import preview, selected_contacts
from contacts.bulk.undo import DECISIONS
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, BulkAction, BulkActionContact, Grant
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

CONTACTS, TAGS, OFFERS = 7, 3, 2
OUTSIDER = CONTACTS  # the index that stands for another site's contact

contact = st.integers(0, CONTACTS - 1)
tag = st.integers(0, TAGS - 1)
offer = st.integers(0, OFFERS - 1)

holdings = st.lists(
    st.sampled_from(["none", "active", "revoked"]),
    min_size=OFFERS * CONTACTS,
    max_size=OFFERS * CONTACTS,
)
taggings = st.sets(st.tuples(contact, tag), max_size=CONTACTS * TAGS)

checked = st.builds(
    lambda ids: {"ids": ids}, st.lists(st.integers(0, OUTSIDER), min_size=1, unique=True)
)
matching = st.builds(
    lambda filters: {"all": True, "query": filters},
    st.fixed_dictionaries(
        {},
        optional={
            "q": st.sampled_from(["", "a", "e", "person"]),
            "tag": tag,
            "offer": offer,
            "access": st.sampled_from(["has_access", "revoked", "none"]),
        },
    ),
)
actions = st.one_of(
    st.tuples(st.sampled_from(["grant_offer", "revoke_offer"]), offer),
    st.tuples(st.sampled_from(["add_tag", "remove_tag"]), tag),
)
changes = st.lists(
    st.one_of(
        st.tuples(st.just("tag"), contact, tag),
        st.tuples(st.just("untag"), contact, tag),
        st.tuples(st.just("delete tag"), tag),
        st.tuples(st.just("revoke"), contact, offer),
        st.tuples(st.just("grant"), contact, offer),
        st.tuples(st.just("new contact"), tag, offer),
        st.tuples(st.just("move"), contact),
    ),
    max_size=8,
)

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class World:
    """A site with contacts, tags and offers in the drawn state, and a teammate."""

    def __init__(self, holdings, taggings):
        self.member = MembershipFactory()
        self.site = self.member.site
        self.actor = Actor.creator(self.member.user)
        self.teammate = Actor.creator(MembershipFactory(site=self.site).user)
        self.offers = [
            OfferFactory(site=self.site, products=[ProductFactory(site=self.site)])
            for _ in range(OFFERS)
        ]
        self.tags = [Tag.objects.create(site=self.site, name=f"Tag {i}") for i in range(TAGS)]
        self.contacts = [
            ContactFactory(site=self.site, name=f"Person {i}") for i in range(CONTACTS)
        ]
        self.outsider = ContactFactory(name="Person outside")
        self.elsewhere = self.outsider.site
        pairs = [(i, j) for j in range(OFFERS) for i in range(CONTACTS)]
        for (i, j), state in zip(pairs, holdings, strict=True):
            if state != "none":
                grant = services.grant_offer(
                    contact=self.contacts[i], offer=self.offers[j], actor=self.actor
                ).obj
                if state == "revoked":
                    services.revoke_grant(grant=grant, actor=self.actor)
        ContactTag.objects.bulk_create(
            ContactTag(contact=self.contacts[i], tag=self.tags[j]) for i, j in taggings
        )

    def selection(self, drawn: dict) -> dict:
        if "ids" in drawn:
            people = [*self.contacts, self.outsider]
            return {"ids": [people[i].pk for i in drawn["ids"]]}
        ids = {"tag": self.tags, "offer": self.offers}
        query = {
            name: ids[name][value].pk if name in ids else value
            for name, value in drawn["query"].items()
        }
        return {"all": True, "query": urlencode(query)}

    def params(self, action: str, index: int) -> dict:
        if action.endswith("offer"):
            return {"offer": self.offers[index].pk}
        return {"tag": f"Tag {index}"}

    def change(self, step: tuple) -> None:
        kind, *args = step
        if kind == "tag" and (tag := self.tag(args[1])):
            contact_services.add_tag(
                tag=tag, contact_ids=[self.contacts[args[0]].pk], actor=self.actor
            )
        elif kind == "untag" and (tag := self.tag(args[1])):
            contact_services.remove_tag(
                tag=tag, contact_ids=[self.contacts[args[0]].pk], actor=self.actor
            )
        elif kind == "delete tag" and (tag := self.tag(args[0])):
            tag.delete()
        elif kind == "revoke":
            grants = Grant.objects.filter(
                contact=self.contacts[args[0]], offer=self.offers[args[1]]
            )
            services.revoke_grants(
                grant_ids=grants.values_list("pk", flat=True), actor=self.teammate
            )
        elif kind == "grant":
            self.grant(self.contacts[args[0]].pk, self.offers[args[1]])
        elif kind == "new contact":
            newcomer = ContactFactory(site=self.site, name="Person new")
            if tag := self.tag(args[0]):
                ContactTag.objects.create(contact=newcomer, tag=tag)
            self.grant(newcomer.pk, self.offers[args[1]])
        elif kind == "move":
            Contact.objects.filter(pk=self.contacts[args[0]].pk).update(site=self.elsewhere)

    def tag(self, index: int) -> Tag | None:
        """The drawn tag, unless it was deleted."""
        return Tag.objects.filter(pk=self.tags[index].pk).first()

    def grant(self, contact_id: int, offer) -> None:
        """Grant the offer to a contact that is still the site's."""
        person = Contact.objects.filter(pk=contact_id, site=self.site).first()
        if person is not None:
            services.grant_offer(contact=person, offer=offer, actor=self.teammate)


def snapshot() -> dict[int, tuple]:
    """Each contact's tags and grants, to tell which contacts a run changed."""
    state: dict[int, list] = {}
    for contact_id, tag_id in ContactTag.objects.values_list("contact_id", "tag_id"):
        state.setdefault(contact_id, []).append(("tag", tag_id))
    for contact_id, pk, status in Grant.objects.values_list("contact_id", "pk", "status"):
        state.setdefault(contact_id, []).append(("grant", pk, status))
    return {contact_id: tuple(sorted(items)) for contact_id, items in state.items()}


def changed_contacts(before: dict, after: dict) -> set[int]:
    return {pk for pk in before.keys() | after.keys() if before.get(pk) != after.get(pk)}


def confirm(world: World, action: str, params: dict, selection: dict) -> tuple[BulkAction, set]:
    """Preview, then confirm with the previewed number; the run is left to the test."""
    proposed = BulkAction(
        site=world.site,
        created_by=world.member.user,
        action=action,
        params=params,
        selection=selection,
    )
    counted = preview(proposed)
    confirmed = set(selected_contacts(world.site, selection).values_list("pk", flat=True))
    with DjangoTestCase.captureOnCommitCallbacks(execute=False):
        bulk = start_bulk_action(
            site=world.site,
            user=world.member.user,
            action=action,
            params=params,
            selection=selection,
            expected_total=counted.selected,
        )
    assert bulk.total == counted.selected
    stored = set(
        BulkActionContact.objects.filter(bulk_action=bulk).values_list("contact_id", flat=True)
    )
    assert stored == confirmed
    return bulk, confirmed


class BulkRunProperties(TestCase):
    @EXAMPLES
    @given(
        holdings=holdings,
        taggings=taggings,
        selection=st.one_of(checked, matching),
        action=actions,
        changes=changes,
        chunk=st.integers(1, 4),
    )
    def test_a_run_never_leaves_its_confirmed_set(
        self, holdings, taggings, selection, action, changes, chunk
    ):
        world = World(holdings, taggings)
        name, index = action
        bulk, confirmed = confirm(
            world, name, world.params(name, index), world.selection(selection)
        )
        for step in changes:
            world.change(step)
        still_here = set(
            Contact.objects.filter(pk__in=confirmed, site=world.site).values_list("pk", flat=True)
        )

        before = snapshot()
        runner.CHUNK_SIZE, chunk_size = chunk, runner.CHUNK_SIZE
        try:
            run_bulk_action(bulk.pk)
        finally:
            runner.CHUNK_SIZE = chunk_size
        bulk.refresh_from_db()

        assert changed_contacts(before, snapshot()) <= still_here
        events = AccessEvent.objects.filter(bulk_action=bulk)
        assert set(events.values_list("contact_id", flat=True)) <= still_here
        assert bulk.status == BulkAction.Status.DONE
        assert bulk.processed == bulk.total == bulk.changed + bulk.skipped + bulk.failed

    @EXAMPLES
    @given(
        holdings=holdings,
        revoking=st.booleans(),
        index=offer,
        since=st.lists(
            st.one_of(
                st.tuples(st.sampled_from(["restore", "revoke", "revoke product"]), contact),
                st.tuples(st.just("grant anew"), contact),
            ),
            max_size=6,
        ),
    )
    def test_an_undo_changes_only_grants_nobody_changed_since(
        self, holdings, revoking, index, since
    ):
        world = World(holdings, set())
        offer = world.offers[index]
        ids = [c.pk for c in world.contacts]
        name = "revoke_offer" if revoking else "grant_offer"
        with DjangoTestCase.captureOnCommitCallbacks(execute=True):
            original = start_bulk_action(
                site=world.site,
                user=world.member.user,
                action=name,
                params={"offer": offer.pk},
                selection={"ids": ids},
            )
        original.refresh_from_db()
        if not original.changed:
            return
        for kind, i in since:
            grants = Grant.objects.filter(contact=world.contacts[i], offer=offer)
            grant = grants.order_by("-pk").first()
            if kind == "restore" and grant:
                services.restore_grants(grant_ids=[grant.pk], actor=world.teammate)
            elif kind == "revoke" and grant:
                services.revoke_grants(grant_ids=[grant.pk], actor=world.teammate)
            elif kind == "revoke product" and grant:
                services.revoke_product(
                    grant=grant, product=offer.products.get(), actor=world.teammate
                )
            elif kind == "grant anew":
                services.grant_offer(contact=world.contacts[i], offer=offer, actor=world.teammate)

        latest_is_own = {
            grant.pk
            for grant in Grant.objects.filter(events__bulk_action=original).distinct()
            if grant.events.filter(kind__in=DECISIONS).order_by("-at", "-pk").first().bulk_action_id
            == original.pk
        }
        with DjangoTestCase.captureOnCommitCallbacks(execute=True):
            undo = start_undo(site=world.site, user=world.member.user, original=original)
        undo.refresh_from_db()

        undone = set(
            AccessEvent.objects.filter(bulk_action=undo).values_list("grant_id", flat=True)
        )
        assert undone <= latest_is_own
        changed = AccessEvent.objects.filter(bulk_action=original).values_list("contact_id")
        assert undo.total == len(set(changed))
