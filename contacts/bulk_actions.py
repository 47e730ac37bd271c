"""Bulk actions on the Contacts tab.

An action is a small class: a name, a label, a form for its parameters, a per-contact
check (`classify`) and one `execute` over a chunk of contact ids. `REGISTRY` lists them;
adding an action is adding a class. Actions never write themselves: they call the same
services as the single-contact flow, whose set-based forms keep the statements per
chunk fixed whatever the chunk's size.

A run (`run_bulk_action`) works through the selection in chunks of CHUNK_SIZE contacts
in primary-key order. Each chunk and the BulkAction's progress commit in one
transaction, so a worker that dies loses nothing and a rerun resumes after the last
committed chunk, changing nothing twice.
"""

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from kajaccess.models import Site
from products.models import Offer
from purchases import services as access_services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant, Subscription

CHUNK_SIZE = 500
NOT_IN_SITE = "not in this site"


@dataclass
class Preview:
    """What a bulk action will do, before anything changes."""

    selected: int
    will_change: int
    skipped: Counter = field(default_factory=Counter)
    still_billing: int = 0


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
    form_class: type[forms.Form] | None = None
    undoable = False

    def __init__(self, bulk: BulkAction):
        self.bulk = bulk
        self.site = bulk.site
        self.params = bulk.params

    @property
    def actor(self) -> Actor:
        return Actor.creator(self.bulk.created_by)

    def describe(self) -> str:
        return self.label

    @abstractmethod
    def classify(self, contact_ids: list[int]) -> tuple[list[int], Counter]:
        """Split a chunk into the contacts that will change and the reasons others won't."""

    @abstractmethod
    def execute(self, contact_ids: list[int]) -> tuple[int, Counter]:
        """Change a chunk; returns how many changed and the skip reasons of the rest."""

    def still_billing(self, contact_ids: list[int]) -> int:
        return 0

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


class GrantOfferAction(OfferAction):
    name = "grant_offer"
    label = "Grant offer"
    undoable = True

    def classify(self, contact_ids):
        holding = set(self.active_grants(contact_ids).values_list("contact_id", flat=True))
        will = [pk for pk in contact_ids if pk not in holding]
        return will, Counter({"already has this offer": len(holding)} if holding else {})

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

    def classify(self, contact_ids):
        active, reasons = self._split(contact_ids)
        return [pk for pk in contact_ids if pk in active], reasons

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

    def still_billing(self, contact_ids):
        return (
            Subscription.objects.filter(
                grant__in=self.active_grants(contact_ids),
                status__in=[Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE],
            )
            .values("grant__contact")
            .distinct()
            .count()
        )


class TagAction(BulkActionType):
    form_class = TagChoiceForm

    @property
    def tag(self) -> Tag | None:
        if not hasattr(self, "_tag"):
            self._tag = Tag.objects.filter(site=self.site, name__iexact=self.params["tag"]).first()
        return self._tag

    def describe(self) -> str:
        return f"{self.label}: {self.params['tag']}"

    def tagged(self, contact_ids) -> set[int]:
        if self.tag is None:
            return set()
        return set(
            ContactTag.objects.filter(tag=self.tag, contact_id__in=contact_ids).values_list(
                "contact_id", flat=True
            )
        )


class AddTagAction(TagAction):
    name = "add_tag"
    label = "Add tag"

    def classify(self, contact_ids):
        tagged = self.tagged(contact_ids)
        will = [pk for pk in contact_ids if pk not in tagged]
        return will, Counter({"already tagged": len(tagged)} if tagged else {})

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

    def classify(self, contact_ids):
        tagged = self.tagged(contact_ids)
        will = [pk for pk in contact_ids if pk in tagged]
        skipped = len(contact_ids) - len(will)
        return will, Counter({"not tagged": skipped} if skipped else {})

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

    @property
    def original(self) -> BulkAction:
        if not hasattr(self, "_original"):
            self._original = BulkAction.objects.get(site=self.site, pk=self.params["undo_of"])
        return self._original

    def describe(self) -> str:
        return f"{self.label} #{self.params['undo_of']}"

    def changed_grants(self, contact_ids) -> QuerySet:
        return Grant.objects.filter(
            Exists(
                AccessEvent.objects.filter(
                    grant=OuterRef("pk"), bulk_action_id=self.original.pk, kind=self.event_kind
                )
            ),
            contact_id__in=contact_ids,
        )


class UndoRevokeAction(UndoAction):
    name = "undo_revoke_offer"
    label = "Undo revoke"
    event_kind = AccessEvent.Kind.REVOKED

    def classify(self, contact_ids):
        revoked = set(
            self.changed_grants(contact_ids)
            .filter(status=AccessStatus.REVOKED)
            .values_list("contact_id", flat=True)
        )
        skipped = len(contact_ids) - len(revoked)
        return [pk for pk in contact_ids if pk in revoked], Counter(
            {"already restored": skipped} if skipped else {}
        )

    def execute(self, contact_ids):
        grant_ids = list(
            self.changed_grants(contact_ids)
            .filter(status=AccessStatus.REVOKED)
            .values_list("pk", flat=True)
        )
        restored = access_services.restore_grants(
            grant_ids=grant_ids, actor=self.actor, reason=self.bulk.reason, bulk_action=self.bulk
        )
        skipped = len(contact_ids) - len(restored)
        return len(restored), Counter({"already restored": skipped} if skipped else {})


class UndoGrantAction(UndoAction):
    name = "undo_grant_offer"
    label = "Undo grant"
    event_kind = AccessEvent.Kind.GRANTED

    def classify(self, contact_ids):
        active = set(
            self.changed_grants(contact_ids)
            .filter(status=AccessStatus.ACTIVE)
            .values_list("contact_id", flat=True)
        )
        skipped = len(contact_ids) - len(active)
        return [pk for pk in contact_ids if pk in active], Counter(
            {"already revoked": skipped} if skipped else {}
        )

    def execute(self, contact_ids):
        grant_ids = list(
            self.changed_grants(contact_ids)
            .filter(status=AccessStatus.ACTIVE)
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


# --- Selections -----------------------------------------------------------------------


def selected_contacts(site: Site, selection: dict) -> QuerySet:
    """The contacts of `site` a selection names, rebuilt from the filters for "all matching".

    Ids of another site are never in it: they are ignored (and counted as skipped).
    """
    contacts = Contact.objects.filter(site=site)
    if selection.get("all"):
        from contacts.selectors import contacts_matching

        return contacts_matching(site, selection.get("query", ""))
    if "undo_of" in selection:
        return contacts.filter(
            Exists(
                AccessEvent.objects.filter(
                    contact=OuterRef("pk"), bulk_action_id=selection["undo_of"], grant__isnull=False
                )
            )
        )
    return contacts.filter(pk__in=selection.get("ids", []))


def outside_site(site: Site, selection: dict) -> int:
    """How many checked ids are not contacts of this site."""
    ids = set(selection.get("ids", []))
    if not ids:
        return 0
    return len(ids) - Contact.objects.filter(site=site, pk__in=ids).count()


def _chunks(contacts: QuerySet, after: int = 0):
    contacts = contacts.order_by("pk")
    while True:
        ids = list(contacts.filter(pk__gt=after).values_list("pk", flat=True)[:CHUNK_SIZE])
        if not ids:
            return
        yield ids
        after = ids[-1]


def preview(bulk: BulkAction) -> Preview:
    """Count, before anything changes, what a bulk action will change and skip, and why."""
    action = action_for(bulk)
    result = Preview(selected=0, will_change=0)
    outside = outside_site(bulk.site, bulk.selection)
    if outside:
        result.skipped[NOT_IN_SITE] = outside
    result.selected = outside
    for ids in _chunks(selected_contacts(bulk.site, bulk.selection)):
        will, reasons = action.classify(ids)
        result.selected += len(ids)
        result.will_change += len(will)
        result.skipped.update(reasons)
        result.still_billing += action.still_billing(will)
    return result


# --- Running --------------------------------------------------------------------------

ATTEMPTS_PER_CHUNK = 3


def start_bulk_action(
    *,
    site: Site,
    user,
    action: str,
    params: dict,
    selection: dict,
    reason: str = "",
    undo_of: BulkAction | None = None,
) -> BulkAction:
    """Record a bulk action and queue it for the worker; the selection is counted now."""
    from contacts.tasks import run_bulk_action_task

    if action not in REGISTRY:
        raise ValidationError(f"Unknown bulk action “{action}”.")
    outside = outside_site(site, selection)
    with transaction.atomic():
        bulk = BulkAction.objects.create(
            site=site,
            created_by=user,
            action=action,
            params=params,
            selection=selection,
            reason=access_services._check_reason(reason),
            undo_of=undo_of,
            total=selected_contacts(site, selection).count() + outside,
            skipped=outside,
            processed=outside,
            outcome={"skipped": {NOT_IN_SITE: outside}} if outside else {},
        )
        transaction.on_commit(lambda: run_bulk_action_task.enqueue(bulk.pk))
    return bulk


def start_undo(*, site: Site, user, original: BulkAction, reason: str = "") -> BulkAction:
    """Queue the undo of a finished bulk grant or revoke, as a bulk action of its own.

    The original is locked while this checks it, so it is undone at most once.
    """
    with transaction.atomic():
        original = BulkAction.objects.select_for_update().get(site=site, pk=original.pk)
        action = action_for(original)
        if action.undone_by is not None:
            raise ValidationError(
                f"Bulk action #{original.pk} was already undone by #{action.undone_by.pk}."
            )
        if not action.can_undo:
            raise ValidationError(f"Bulk action #{original.pk} cannot be undone.")
        return start_bulk_action(
            site=site,
            user=user,
            action=UNDO_OF[original.action].name,
            params={"undo_of": original.pk},
            selection={"undo_of": original.pk},
            reason=reason,
            undo_of=original,
        )


def _merge(outcome: dict, key: str, reasons: Counter) -> dict:
    merged = Counter(outcome.get(key, {}))
    merged.update(reasons)
    return {**outcome, key: dict(merged)}


def run_bulk_action(bulk_action_id: int) -> BulkAction:
    """Work through a bulk action chunk by chunk; safe to run again after a crash.

    Each chunk and the progress it makes commit together, under a lock on the
    BulkAction row, so two workers on one job, or a rerun, never change a contact twice.
    """
    bulk = BulkAction.objects.get(pk=bulk_action_id)
    if bulk.status == BulkAction.Status.DONE:
        return bulk
    BulkAction.objects.filter(pk=bulk.pk).update(
        status=BulkAction.Status.RUNNING, started_at=bulk.started_at or timezone.now()
    )
    contacts = selected_contacts(bulk.site, bulk.selection).order_by("pk")
    failures = 0
    while True:
        with transaction.atomic():
            bulk = BulkAction.objects.select_for_update().select_related("site").get(pk=bulk.pk)
            if bulk.status == BulkAction.Status.DONE:
                return bulk
            ids = list(
                contacts.filter(pk__gt=bulk.cursor).values_list("pk", flat=True)[:CHUNK_SIZE]
            )
            if not ids:
                bulk.status = BulkAction.Status.DONE
                bulk.finished_at = timezone.now()
                bulk.save(update_fields=["status", "finished_at"])
                return bulk
            action = action_for(bulk)
            try:
                with transaction.atomic():
                    changed, reasons = action.execute(ids)
            except Exception as error:  # noqa: BLE001 - any failure rolls the chunk back
                failures += 1
                if failures < ATTEMPTS_PER_CHUNK:
                    continue
                bulk.failed += len(ids)
                bulk.outcome = _merge(bulk.outcome, "failed", Counter({_describe(error): len(ids)}))
                changed, reasons = 0, Counter()
            failures = 0
            bulk.processed += len(ids)
            bulk.changed += changed
            bulk.skipped += sum(reasons.values())
            bulk.cursor = ids[-1]
            if reasons:
                bulk.outcome = _merge(bulk.outcome, "skipped", reasons)
            bulk.save(
                update_fields=["processed", "changed", "skipped", "failed", "cursor", "outcome"]
            )


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return f"{type(error).__name__}: {error}"[:200]
