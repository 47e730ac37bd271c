"""Bulk actions on the Contacts tab.

An action is a small class: a name, a label, a form for its parameters, a `count` of
what it will do to a whole selection and one `execute` over a chunk of contact ids.
`REGISTRY` lists them; adding an action is adding a class. Actions never write
themselves: they call the same services as the single-contact flow, whose set-based
forms keep the statements per chunk fixed whatever the chunk's size.

`count` answers with one aggregate query over the selection (a COUNT per outcome, each
filtered by an EXISTS), so the confirmation popup costs the same few queries for 20 or
200,000 contacts. Its conditions are the ones `execute` applies, so the preview says
what the run will then do.

A run (`run_bulk_action`) works through the selection in chunks of CHUNK_SIZE contacts
in primary-key order. Each chunk and the BulkAction's progress commit in one
transaction, so a worker that dies loses nothing and a rerun resumes after the last
committed chunk, changing nothing twice. Each chunk also moves the run's heartbeat
(`heartbeat_at`); `resume_stalled_bulk_actions` queues again every run whose heartbeat
stopped, as after a worker died.
"""

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from contacts import services as contact_services
from contacts.filters import contacts_matching
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from kajaccess.models import Site
from products.models import Offer
from purchases import services as access_services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant, Subscription

CHUNK_SIZE = 500
NOT_IN_SITE = "not in this site"
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


# --- Selections -----------------------------------------------------------------------


def selected_contacts(site: Site, selection: dict) -> QuerySet:
    """The contacts of `site` a selection names, rebuilt from the filters for "all matching".

    Ids of another site are never in it: they are ignored (and counted as skipped).
    """
    contacts = Contact.objects.filter(site=site)
    if selection.get("all"):
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


def preview(bulk: BulkAction) -> Preview:
    """Count, before anything changes, what a bulk action will change and skip, and why.

    A fixed handful of queries whatever the selection's size: the ids of another site,
    the action's parameters, and one aggregate over the selection.
    """
    result = action_for(bulk).count(selected_contacts(bulk.site, bulk.selection))
    outside = outside_site(bulk.site, bulk.selection)
    if outside:
        result.selected += outside
        result.skipped[NOT_IN_SITE] = outside
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
    now = timezone.now()
    BulkAction.objects.filter(pk=bulk.pk).exclude(status=BulkAction.Status.DONE).update(
        status=BulkAction.Status.RUNNING, started_at=bulk.started_at or now, heartbeat_at=now
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
                bulk.finished_at = bulk.heartbeat_at = timezone.now()
                bulk.save(update_fields=["status", "finished_at", "heartbeat_at"])
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
            bulk.heartbeat_at = timezone.now()
            if reasons:
                bulk.outcome = _merge(bulk.outcome, "skipped", reasons)
            bulk.save(
                update_fields=[
                    "processed",
                    "changed",
                    "skipped",
                    "failed",
                    "cursor",
                    "outcome",
                    "heartbeat_at",
                ]
            )


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return f"{type(error).__name__}: {error}"[:200]


# --- Stalled runs ---------------------------------------------------------------------

UNFINISHED = [BulkAction.Status.PENDING, BulkAction.Status.RUNNING]


def stall_limit() -> timedelta:
    return timedelta(minutes=settings.BULK_ACTION_STALL_MINUTES)


def stalled_bulk_actions(*, now: datetime | None = None) -> QuerySet:
    """Unfinished bulk actions with no sign of life (a chunk done, or a start) for too long."""
    since = (now or timezone.now()) - stall_limit()
    return BulkAction.objects.filter(status__in=UNFINISHED).filter(
        Q(heartbeat_at__lt=since) | Q(heartbeat_at__isnull=True, created_at__lt=since)
    )


def is_stalled(bulk: BulkAction, *, now: datetime | None = None) -> bool:
    """The same test as `stalled_bulk_actions`, for a bulk action already read."""
    if bulk.status not in UNFINISHED:
        return False
    last_sign = bulk.heartbeat_at or bulk.created_at
    return last_sign < (now or timezone.now()) - stall_limit()


def _waiting_in_queue(task) -> set[int]:
    """The bulk actions whose run already waits in the database queue for a worker."""
    if not isinstance(task.get_backend(), DatabaseBackend):
        return set()
    waiting = DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY
    ).values_list("args_kwargs", flat=True)
    return {args_kwargs["args"][0] for args_kwargs in waiting if args_kwargs.get("args")}


def resume_stalled_bulk_actions(*, now: datetime | None = None) -> list[int]:
    """Queue again every bulk action whose run stopped, as when its worker died; their ids.

    Always safe: a run resumes after the last chunk it committed, and the lock on the
    BulkAction row keeps a slow run and its replacement from doing any chunk twice. A
    run already waiting in the queue is not queued a second time.
    """
    from contacts.tasks import run_bulk_action_task

    stalled = list(stalled_bulk_actions(now=now).order_by("pk").values_list("pk", flat=True))
    if not stalled:
        return []
    waiting = _waiting_in_queue(run_bulk_action_task)
    resumed = [pk for pk in stalled if pk not in waiting]
    for pk in resumed:
        run_bulk_action_task.enqueue(pk)
    return resumed
