"""The bulk actions, one class each, and the registry that lists them.

Adding a bulk action is adding one class here and registering it: the action bar, the
confirmation popup, the run and the history all read what they need from the class.
"""

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from contacts import services as contact_services
from contacts.bulk.forms import OfferChoiceForm, TagChoiceForm
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from kajaccess.roles import member_role
from products.models import Offer
from purchases.access import services as access_services
from purchases.models import AccessStatus, BulkAction, BulkActionContact, Grant, Subscription

NOT_IN_SITE = "not in this site"
DELETED_SINCE = "deleted since"


@dataclass
class Preview:
    """What a bulk action will do, before anything changes."""

    selected: int
    will_change: int
    skipped: Counter = field(default_factory=Counter)
    still_billing: int = 0


def _tally(
    contacts: QuerySet, *, will_change: Q, skipped: dict[str, Q], still_billing: Q | None = None
) -> Preview:
    """Count a selection in one aggregate query, whatever its size.

    The conditions are read per contact. The selection enters as a subquery of ids, so
    the annotations, DISTINCT and ordering of an "all matching" selection cannot change
    the counts.
    """
    counts = {"selected": Count("pk"), "will_change": Count("pk", filter=will_change)}
    reasons = list(skipped)
    for i, reason in enumerate(reasons):
        counts[f"skipped_{i}"] = Count("pk", filter=skipped[reason])
    if still_billing is not None:
        counts["still_billing"] = Count("pk", filter=still_billing)
    row = Contact.objects.filter(pk__in=contacts.order_by().values("pk")).aggregate(**counts)
    return Preview(
        selected=row["selected"],
        will_change=row["will_change"],
        skipped=Counter(
            {reason: row[f"skipped_{i}"] for i, reason in enumerate(reasons) if row[f"skipped_{i}"]}
        ),
        still_billing=row.get("still_billing", 0),
    )


@dataclass
class Chunk:
    """The next items of a run after its cursor: those to act on, and those skipped."""

    ids: list[int]
    # How many stored items it covers, and the last of them: the cursor after it.
    size: int
    last: int
    skipped: Counter = field(default_factory=Counter)


def skipped_rest(contact_ids: list[int], done: list[int], reason: str) -> Counter:
    """The contacts of a chunk a service left as they were, all for one reason."""
    rest = len(contact_ids) - len(done)
    return Counter({reason: rest} if rest else {})


class BulkActionType(ABC):
    """A bulk action: what the action bar, the popup, the run and the history know of it."""

    do_not_call_in_templates = True  # templates read an action class's name and label
    name: str
    label: str
    # The permission (kajaccess.roles) a member's role needs to start it, beside the one
    # for bulk actions at all (`kajaccess.run_bulk_actions`).
    permission: str
    form_class: type[forms.Form] | None = None
    # What the popup asks for until the parameters are chosen.
    prompt = "Confirm to see what will change."
    # Takes access away: the popup warns, and its button is styled as dangerous.
    revokes = False
    # Offered in the Contacts tab's action bar; an undo starts from the history instead.
    in_menu = True
    # The name of the action that puts back what this one changed; None when nothing can.
    undo_action: str | None = None
    # What its run works through, as its progress counts them.
    unit = "contact"

    def __init__(self, bulk: BulkAction):
        self.bulk = bulk
        self.site = bulk.site
        self.params = bulk.params
        # What a chunk's `execute` counts besides the changed and the skipped, for the
        # summary (`BulkAction.outcome["counted"]`).
        self.counted = Counter()

    @cached_property
    def actor(self) -> Actor:
        if self.bulk.api_key_id is not None:
            return Actor.api(self.bulk.api_key)
        # The role the member holds as the run writes its events, for the audit trail.
        role = member_role(user=self.bulk.created_by, site=self.site)
        return Actor.creator(self.bulk.created_by, role=role)

    def describe(self) -> str:
        return self.label

    @abstractmethod
    def count(self, contacts: QuerySet) -> Preview:
        """What `execute` would do to these contacts, counted in a fixed number of queries."""

    @abstractmethod
    def execute(self, contact_ids: list[int]) -> tuple[int, Counter]:
        """Change a chunk of contacts of the site; how many changed, and why the rest did not."""

    def next_chunk(self, after: int, size: int) -> Chunk | None:
        """The next stored contacts after the cursor, by id; those no longer the site's are
        skipped. None once every stored contact is done."""
        site_now = Contact.objects.filter(pk=OuterRef("contact_id")).values("site_id")
        rows = list(
            BulkActionContact.objects.filter(bulk_action=self.bulk, contact_id__gt=after)
            .order_by("contact_id")
            .annotate(site_now=Subquery(site_now))
            .values_list("contact_id", "site_now")[:size]
        )
        if not rows:
            return None
        chunk = Chunk(ids=[], size=len(rows), last=rows[-1][0])
        for pk, site_id in rows:
            if site_id == self.site.pk:
                chunk.ids.append(pk)
            else:
                chunk.skipped[DELETED_SINCE if site_id is None else NOT_IN_SITE] += 1
        return chunk

    @property
    def undo_class(self) -> type["BulkActionType"] | None:
        return registry.get(self.undo_action) if self.undo_action else None

    @property
    def undone_by(self) -> BulkAction | None:
        """The bulk action that undid this one, if any (prefetch `undone_by` for lists)."""
        return next(iter(self.bulk.undone_by.all()), None)

    @property
    def can_undo(self) -> bool:
        """A finished bulk action of a kind that can be undone, that changed something, once."""
        return (
            self.undo_action is not None
            and self.bulk.status == BulkAction.Status.DONE
            and self.bulk.changed > 0
            and self.undone_by is None
        )


class BulkActionRegistry:
    """The bulk actions by name; the action bar offers those `in_menu`, in registration order."""

    def __init__(self):
        self._actions: dict[str, type[BulkActionType]] = {}

    def register(self, action: type[BulkActionType]) -> type[BulkActionType]:
        if action.name in self._actions:
            raise ImproperlyConfigured(f"A bulk action named “{action.name}” is registered.")
        self._actions[action.name] = action
        return action

    def unregister(self, action: type[BulkActionType]) -> None:
        self._actions.pop(action.name, None)

    def get(self, name: str) -> type[BulkActionType]:
        try:
            return self._actions[name]
        except KeyError:
            raise ValidationError(f"Unknown bulk action “{name}”.") from None

    def names(self) -> list[str]:
        return list(self._actions)

    def menu(self) -> list[type[BulkActionType]]:
        return [action for action in self._actions.values() if action.in_menu]


registry = BulkActionRegistry()


def action_for(bulk: BulkAction) -> BulkActionType:
    return registry.get(bulk.action)(bulk)


# --- Offers ------------------------------------------------------------------------------


class OfferAction(BulkActionType):
    form_class = OfferChoiceForm
    prompt = "Choose an offer to see what will change."

    @property
    def offer(self) -> Offer:
        if not hasattr(self, "_offer"):
            self._offer = Offer.objects.get(site=self.site, pk=self.params["offer"])
        return self._offer

    def describe(self) -> str:
        return f"{self.label}: {self.offer.title}"

    def holds_offer(self) -> Q:
        """The contact holds an active grant of the Offer."""
        return Q(
            Exists(
                Grant.objects.filter(
                    offer=self.offer, contact=OuterRef("pk"), status=AccessStatus.ACTIVE
                )
            )
        )

    def still_billing(self) -> Q:
        """The contact's active grant of the Offer has a subscription or plan still billing."""
        return Q(
            Exists(
                Subscription.objects.filter(
                    grant__offer=self.offer,
                    grant__contact=OuterRef("pk"),
                    grant__status=AccessStatus.ACTIVE,
                    status__in=[Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE],
                )
            )
        )


@registry.register
class GrantOfferAction(OfferAction):
    name = "grant_offer"
    label = "Grant offer"
    permission = "kajaccess.change_access"
    undo_action = "undo_grant_offer"

    def count(self, contacts):
        holds = self.holds_offer()
        return _tally(contacts, will_change=~holds, skipped={"already has this offer": holds})

    def execute(self, contact_ids):
        if self.offer.is_deleted:
            raise ValidationError(f"“{self.offer.title}” was deleted and can no longer be granted.")
        created = access_services.grant_offer_to_contacts(
            offer=self.offer,
            contact_ids=contact_ids,
            actor=self.actor,
            reason=self.bulk.reason,
            bulk_action=self.bulk,
        )
        return len(created), skipped_rest(contact_ids, created, "already has this offer")


@registry.register
class RevokeOfferAction(OfferAction):
    name = "revoke_offer"
    label = "Revoke offer"
    permission = "kajaccess.change_access"
    revokes = True
    undo_action = "undo_revoke_offer"

    def _split(self, contact_ids) -> tuple[dict[int, int], Counter]:
        """The active grant of each contact that has one, and why the others are skipped."""
        grants = Grant.objects.filter(offer=self.offer, contact_id__any=contact_ids)
        active = dict(grants.filter(status=AccessStatus.ACTIVE).values_list("contact_id", "pk"))
        held = grants.exclude(contact_id__any=active).values("contact_id").distinct().count()
        reasons = Counter()
        if held:
            reasons["already revoked"] = held
        none = len(contact_ids) - len(active) - held
        if none:
            reasons["no such grant"] = none
        return active, reasons

    def count(self, contacts):
        holds = self.holds_offer()
        held = Q(Exists(Grant.objects.filter(offer=self.offer, contact=OuterRef("pk"))))
        return _tally(
            contacts,
            will_change=holds,
            skipped={"already revoked": held & ~holds, "no such grant": ~held},
            still_billing=self.still_billing(),
        )

    def execute(self, contact_ids):
        active, reasons = self._split(contact_ids)
        revoked = access_services.revoke_grants(
            grant_ids=active.values(),
            actor=self.actor,
            reason=self.bulk.reason,
            bulk_action=self.bulk,
        )
        lost = len(active) - len(revoked)  # revoked by someone else meanwhile
        if lost:
            reasons["already revoked"] += lost
        return len(revoked), reasons


# --- Tags ----------------------------------------------------------------------------------


class TagAction(BulkActionType):
    form_class = TagChoiceForm
    prompt = "Enter a tag to see what will change."

    @property
    def tag(self) -> Tag | None:
        if not hasattr(self, "_tag"):
            self._tag = Tag.objects.filter(site=self.site, name__iexact=self.params["tag"]).first()
        return self._tag

    def describe(self) -> str:
        return f"{self.label}: {self.params['tag']}"

    def tagged(self) -> Q:
        """The contact has the tag (none has it while no tag of that name exists)."""
        return Q(
            Exists(
                ContactTag.objects.filter(
                    contact=OuterRef("pk"),
                    tag__site=self.site,
                    tag__name__iexact=self.params["tag"],
                )
            )
        )


@registry.register
class AddTagAction(TagAction):
    name = "add_tag"
    label = "Add tag"
    permission = "kajaccess.tag_contacts"

    def count(self, contacts):
        tagged = self.tagged()
        return _tally(contacts, will_change=~tagged, skipped={"already tagged": tagged})

    def execute(self, contact_ids):
        tag = contact_services.tag_get_or_create(site=self.site, name=self.params["tag"])
        self._tag = tag
        added = contact_services.add_tag(
            tag=tag, contact_ids=contact_ids, actor=self.actor, bulk_action=self.bulk
        )
        return len(added), skipped_rest(contact_ids, added, "already tagged")


@registry.register
class RemoveTagAction(TagAction):
    name = "remove_tag"
    label = "Remove tag"
    permission = "kajaccess.tag_contacts"

    def count(self, contacts):
        tagged = self.tagged()
        return _tally(contacts, will_change=tagged, skipped={"not tagged": ~tagged})

    def execute(self, contact_ids):
        if self.tag is None:
            return 0, Counter({"not tagged": len(contact_ids)})
        removed = contact_services.remove_tag(
            tag=self.tag, contact_ids=contact_ids, actor=self.actor
        )
        return len(removed), skipped_rest(contact_ids, removed, "not tagged")
