"""Bulk actions on the Contacts tab.

An action is a small class: a name, a label, a form for its parameters, a `count` of
what it will do to a whole selection and one `execute` over a chunk of contact ids.
`REGISTRY` lists them; adding an action is adding a class. Each names the permission
(kajaccess.roles) a member's role needs to start it, beside the one for bulk actions at
all (`kajaccess.run_bulk_actions`). Actions never write
themselves: they call the same services as the single-contact flow, whose set-based
forms keep the statements per chunk fixed whatever the chunk's size.

`count` answers with one aggregate query over the selection (a COUNT per outcome, each
filtered by an EXISTS), so the confirmation popup costs the same few queries for 20 or
200,000 contacts. Its conditions are the ones `execute` applies, so the preview says
what the run will then do.
"""

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from contacts import services as contact_services
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from kajaccess.models import Site
from kajaccess.roles import member_role
from products.models import Offer
from purchases.access import services as access_services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant, Subscription

HAS_OFFER_AGAIN = "has this offer again"


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


class OfferChoiceForm(forms.Form):
    offer = forms.ModelChoiceField(
        label="Offer",
        queryset=Offer.objects.none(),
        empty_label="Choose an offer",
        error_messages={
            "required": "Choose an offer.",
            "invalid_choice": "Choose one of your live offers.",
        },
    )

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = Offer.objects.live().filter(site=site).order_by("title")

    def params(self) -> dict:
        return {"offer": self.cleaned_data["offer"].pk}


class TagChoiceForm(forms.Form):
    tag = forms.CharField(
        max_length=80,
        label="Tag",
        error_messages={
            "required": "Enter a tag.",
            "max_length": "A tag can be at most %(limit_value)d characters.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "site-tags"}),
    )

    def __init__(self, *args, site: Site, **kwargs):
        self.site = site
        super().__init__(*args, **kwargs)

    def clean_tag(self):
        name = " ".join(self.cleaned_data["tag"].split())
        if not name:
            raise ValidationError("Enter a tag.")
        return name

    def params(self) -> dict:
        return {"tag": self.cleaned_data["tag"]}


class BulkActionType(ABC):
    do_not_call_in_templates = True  # templates read an action class's name and label
    name: str
    label: str
    permission: str
    form_class: type[forms.Form] | None = None
    undoable = False

    def __init__(self, bulk: BulkAction):
        self.bulk = bulk
        self.site = bulk.site
        self.params = bulk.params

    @property
    def actor(self) -> Actor:
        if not hasattr(self, "_actor"):
            # The role the member holds as the run writes its events, for the audit trail.
            role = member_role(user=self.bulk.created_by, site=self.site)
            self._actor = Actor.creator(self.bulk.created_by, role=role)
        return self._actor

    def describe(self) -> str:
        return self.label

    @abstractmethod
    def count(self, contacts: QuerySet) -> Preview:
        """What `execute` would do to these contacts, counted in one aggregate query."""

    @abstractmethod
    def execute(self, contact_ids: list[int]) -> tuple[int, Counter]:
        """Change a chunk; returns how many changed and the skip reasons of the rest."""

    @property
    def undone_by(self) -> BulkAction | None:
        """The bulk action that undid this one, if any (prefetch `undone_by` for lists)."""
        return next(iter(self.bulk.undone_by.all()), None)

    @property
    def can_undo(self) -> bool:
        """A finished bulk grant or revoke that changed something is undone once."""
        return (
            self.undoable
            and self.bulk.status == BulkAction.Status.DONE
            and self.bulk.changed > 0
            and self.undone_by is None
        )


class OfferAction(BulkActionType):
    form_class = OfferChoiceForm

    @property
    def offer(self) -> Offer:
        if not hasattr(self, "_offer"):
            self._offer = Offer.objects.get(site=self.site, pk=self.params["offer"])
        return self._offer

    def describe(self) -> str:
        return f"{self.label}: {self.offer.title}"

    def active_grants(self, contact_ids):
        return Grant.objects.filter(
            offer=self.offer, contact_id__in=contact_ids, status=AccessStatus.ACTIVE
        )

    def holds_offer(self) -> Q:
        """The contact holds an active grant of the Offer."""
        return Q(
            Exists(
                Grant.objects.filter(
                    offer=self.offer, contact=OuterRef("pk"), status=AccessStatus.ACTIVE
                )
            )
        )


class GrantOfferAction(OfferAction):
    name = "grant_offer"
    label = "Grant offer"
    permission = "kajaccess.change_access"
    undoable = True

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
        skipped = len(contact_ids) - len(created)
        return len(created), Counter({"already has this offer": skipped} if skipped else {})


class RevokeOfferAction(OfferAction):
    name = "revoke_offer"
    label = "Revoke offer"
    permission = "kajaccess.change_access"
    undoable = True

    def _split(self, contact_ids) -> tuple[dict[int, int], Counter]:
        """The active grant of each contact that has one, and why the others are skipped."""
        active = dict(self.active_grants(contact_ids).values_list("contact_id", "pk"))
        held = (
            Grant.objects.filter(offer=self.offer, contact_id__in=contact_ids)
            .exclude(contact_id__in=active)
            .values("contact_id")
            .distinct()
            .count()
        )
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
        billing = Q(
            Exists(
                Subscription.objects.filter(
                    grant__offer=self.offer,
                    grant__contact=OuterRef("pk"),
                    grant__status=AccessStatus.ACTIVE,
                    status__in=[Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE],
                )
            )
        )
        return _tally(
            contacts,
            will_change=holds,
            skipped={"already revoked": held & ~holds, "no such grant": ~held},
            still_billing=billing,
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


class TagAction(BulkActionType):
    form_class = TagChoiceForm

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
        skipped = len(contact_ids) - len(added)
        return len(added), Counter({"already tagged": skipped} if skipped else {})


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
        skipped = len(contact_ids) - len(removed)
        return len(removed), Counter({"not tagged": skipped} if skipped else {})


class UndoAction(BulkActionType):
    """Puts back exactly what an earlier bulk grant or revoke changed, and nothing else."""

    permission = "kajaccess.run_bulk_actions"

    @property
    def original(self) -> BulkAction:
        if not hasattr(self, "_original"):
            self._original = BulkAction.objects.get(site=self.site, pk=self.params["undo_of"])
        return self._original

    def describe(self) -> str:
        return f"{self.label} #{self.params['undo_of']}"

    def changed_grants(self) -> QuerySet:
        """The grants the original bulk action changed."""
        return Grant.objects.filter(
            Exists(
                AccessEvent.objects.filter(
                    grant=OuterRef("pk"),
                    bulk_action_id=self.original.pk,
                    kind=self.event_kind,
                )
            )
        )


class UndoRevokeAction(UndoAction):
    name = "undo_revoke_offer"
    label = "Undo revoke"
    event_kind = AccessEvent.Kind.REVOKED

    def count(self, contacts):
        revoked = self.changed_grants().filter(contact=OuterRef("pk"), status=AccessStatus.REVOKED)
        # restore_grants leaves a grant revoked while its contact holds the Offer again.
        again = Grant.objects.filter(
            contact=OuterRef("contact"), offer=OuterRef("offer"), status=AccessStatus.ACTIVE
        )
        still_revoked = Q(Exists(revoked))
        restorable = Q(Exists(revoked.filter(~Exists(again))))
        return _tally(
            contacts,
            will_change=restorable,
            skipped={
                "already restored": ~still_revoked,
                HAS_OFFER_AGAIN: still_revoked & ~restorable,
            },
        )

    def execute(self, contact_ids):
        grant_ids = list(
            self.changed_grants()
            .filter(contact_id__in=contact_ids, status=AccessStatus.REVOKED)
            .values_list("pk", flat=True)
        )
        restored = access_services.restore_grants(
            grant_ids=grant_ids, actor=self.actor, reason=self.bulk.reason, bulk_action=self.bulk
        )
        reasons = Counter()
        if len(grant_ids) > len(restored):
            reasons[HAS_OFFER_AGAIN] = len(grant_ids) - len(restored)
        if len(contact_ids) > len(grant_ids):
            reasons["already restored"] = len(contact_ids) - len(grant_ids)
        return len(restored), reasons


class UndoGrantAction(UndoAction):
    name = "undo_grant_offer"
    label = "Undo grant"
    event_kind = AccessEvent.Kind.GRANTED

    def count(self, contacts):
        active = Q(
            Exists(self.changed_grants().filter(contact=OuterRef("pk"), status=AccessStatus.ACTIVE))
        )
        return _tally(contacts, will_change=active, skipped={"already revoked": ~active})

    def execute(self, contact_ids):
        grant_ids = list(
            self.changed_grants()
            .filter(contact_id__in=contact_ids, status=AccessStatus.ACTIVE)
            .values_list("pk", flat=True)
        )
        revoked = access_services.revoke_grants(
            grant_ids=grant_ids, actor=self.actor, reason=self.bulk.reason, bulk_action=self.bulk
        )
        skipped = len(contact_ids) - len(revoked)
        return len(revoked), Counter({"already revoked": skipped} if skipped else {})


REGISTRY: dict[str, type[BulkActionType]] = {
    cls.name: cls
    for cls in (
        GrantOfferAction,
        RevokeOfferAction,
        AddTagAction,
        RemoveTagAction,
        UndoRevokeAction,
        UndoGrantAction,
    )
}


# What the Contacts tab's action bar offers; undo actions start from the history page.
MENU = [GrantOfferAction, RevokeOfferAction, AddTagAction, RemoveTagAction]


UNDO_OF = {"revoke_offer": UndoRevokeAction, "grant_offer": UndoGrantAction}


def action_for(bulk: BulkAction) -> BulkActionType:
    return REGISTRY[bulk.action](bulk)


def history(site: Site) -> QuerySet:
    """A site's bulk actions, newest first, ready for `actions_for`."""
    return (
        BulkAction.objects.filter(site=site)
        .select_related("site", "created_by", "undo_of")
        .prefetch_related("undone_by")
        .order_by("-created_at", "-pk")
    )


def actions_for(bulks) -> list[BulkActionType]:
    """The actions of a page of bulk actions, with all their Offers read in one query."""
    actions = [action_for(bulk) for bulk in bulks]
    offer_ids = {a.params["offer"] for a in actions if isinstance(a, OfferAction)}
    if offer_ids:
        offers = Offer.objects.in_bulk(offer_ids)
        for action in actions:
            if isinstance(action, OfferAction):
                action._offer = offers[action.params["offer"]]
    return actions
