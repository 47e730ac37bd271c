"""Undoing a bulk grant or revoke: it puts back what that bulk action changed, and nothing
anybody decided since.

A grant is put back only while its latest access decision (granted, revoked, restored,
or one of its Products revoked or restored) is still the original bulk action's own
change. Any other grant is skipped, and the preview and the summary say who changed it.
"""

from abc import abstractmethod
from collections import Counter

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from contacts.bulk.actions import BulkActionType, Preview, action_for, registry
from contacts.models import Contact
from kajaccess.actors import ActorKind
from purchases.access import services as access_services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant

HAS_OFFER_AGAIN = "has this offer again"
EXPIRED_SINCE = "expired since"
OFFER_DELETED = "offer deleted"

# The events that decide whether a grant opens its Products.
DECISIONS = [
    AccessEvent.Kind.GRANTED,
    AccessEvent.Kind.REVOKED,
    AccessEvent.Kind.RESTORED,
    AccessEvent.Kind.PRODUCT_REVOKED,
    AccessEvent.Kind.PRODUCT_RESTORED,
]

UNDO, CHANGED = "undo", "changed"

WHO = {
    ActorKind.SUPPORT: "our support team",
    ActorKind.AUTOMATION: "an automation",
    ActorKind.CANCELLATION: "a cancellation of payments",
    ActorKind.CUSTOMER: "the customer",
    ActorKind.SYSTEM: "the system",
}


def changed_since(actor_kind: str | None, email: str | None) -> str:
    """Why a grant is skipped, naming who made the decision that came after the original."""
    if actor_kind == ActorKind.EXPIRY:
        return EXPIRED_SINCE
    who = WHO.get(actor_kind) or email or "a former team member"
    return f"changed since by {who}"


class UndoAction(BulkActionType):
    in_menu = False
    permission = "kajaccess.run_bulk_actions"
    # The change the original made to each grant, and the status it left the grant in.
    event_kind: str
    left_status: str
    # What the popup says it does, with the original's number and description.
    explanation: str
    # Why a grant put back by the service was left as it was after all.
    lost_reason: str

    @property
    def original(self) -> BulkAction:
        if not hasattr(self, "_original"):
            self._original = BulkAction.objects.get(site=self.site, pk=self.params["undo_of"])
        return self._original

    def describe(self) -> str:
        return f"{self.label} #{self.params['undo_of']}"

    def explain(self) -> str:
        return self.explanation.format(
            pk=self.original.pk, what=action_for(self.original).describe()
        )

    def blocked(self, within: list[int] | None = None) -> list[tuple[str, Q]]:
        """Grants still as the original left them that stay so all the same, and why.

        `within`: the grants of one chunk, to which any lookup of other rows is confined.
        """
        return []

    def changed_by_original(self) -> QuerySet:
        events = AccessEvent.objects.filter(
            grant=OuterRef("pk"), bulk_action_id=self.original.pk, kind=self.event_kind
        )
        return Grant.objects.filter(Exists(events), site=self.site)

    def changed_in_chunk(self, contact_ids: list[int]) -> list[int]:
        """The grants the original changed for a chunk's contacts, read by index.

        In two steps, each led by the ids it is given, so that no query plan reads every
        event of the original, or every grant of its Offer, for every chunk: the contacts
        lead through (contact, offer, status), the grants through (bulk_action, grant).
        The chunk's contacts are the site's (`next_chunk`), so no test of the site is
        needed, and none is made: it would let the planner walk (site, offer, status),
        every grant of the Offer, once a chunk.
        """
        candidates = (
            Grant.objects.filter(
                contact_id__any=contact_ids, offer_id=self.original.params["offer"]
            )
            .order_by()
            .values_list("pk", flat=True)
        )
        events = AccessEvent.objects.filter(
            bulk_action_id=self.original.pk, kind=self.event_kind, grant_id__any=list(candidates)
        ).order_by()
        return sorted(set(events.values_list("grant_id", flat=True)))

    def judged(self, grants: QuerySet, within: list[int] | None = None) -> QuerySet:
        """These grants, each with its `verdict` and, from their latest decision, `who`."""
        latest = AccessEvent.objects.filter(grant=OuterRef("pk"), kind__in=DECISIONS).order_by(
            "-at", "-pk"
        )[:1]
        who = Concat(
            "actor_kind", Value(" "), Coalesce("actor__email", Value("")), output_field=CharField()
        )
        still_own = Case(
            When(expires_at__lte=timezone.now(), then=Value(EXPIRED_SINCE)),
            *(When(condition, then=Value(reason)) for reason, condition in self.blocked(within)),
            default=Value(UNDO),
        )
        return grants.annotate(
            last_bulk=Subquery(latest.values("bulk_action_id")),
            who=Subquery(latest.annotate(who=who).values("who")),
        ).annotate(
            verdict=Case(
                When(Q(last_bulk=self.original.pk, status=self.left_status), then=still_own),
                default=Value(CHANGED),
            )
        )

    @staticmethod
    def reason(verdict: str, who: str | None) -> str | None:
        if verdict == UNDO:
            return None
        if verdict != CHANGED:
            return verdict
        actor_kind, _, email = (who or "").partition(" ")
        return changed_since(actor_kind or None, email or None)

    def count(self, contacts):
        grants = self.changed_by_original().filter(contact__in=contacts)
        rows = self.judged(grants).values("verdict", "who").annotate(n=Count("pk")).order_by()
        preview = Preview(selected=0, will_change=0)
        for row in rows:
            preview.selected += row["n"]
            reason = self.reason(row["verdict"], row["who"])
            if reason is None:
                preview.will_change += row["n"]
            else:
                preview.skipped[reason] += row["n"]
        return preview

    def lock(self, contact_ids: list[int], grant_ids: list[int]) -> None:
        """Lock what the service will, in its order (contacts, then their grants), before the
        verdicts are read."""
        list(
            Contact.objects.select_for_update(no_key=True)
            .filter(pk__any=contact_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        list(
            Grant.objects.select_for_update()
            .filter(pk__any=grant_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def choose(self, grant_ids: list[int]) -> tuple[list[int], Counter]:
        """The grants to put back, as `apply` takes them, and why the others are not."""
        rows = self.judged(Grant.objects.filter(pk__any=grant_ids), within=grant_ids).order_by("pk")
        chosen, reasons = [], Counter()
        for pk, verdict, who in rows.values_list("pk", "verdict", "who"):
            reason = self.reason(verdict, who)
            if reason is None:
                chosen.append(pk)
            else:
                reasons[reason] += 1
        return chosen, reasons

    @abstractmethod
    def apply(self, chosen) -> list[int]:
        """Put back the grants `choose` chose through the service; the ids it changed."""

    def execute(self, contact_ids):
        grant_ids = self.changed_in_chunk(contact_ids)
        self.lock(contact_ids, grant_ids)
        chosen, reasons = self.choose(grant_ids)
        done = self.apply(chosen) if chosen else []
        if len(done) < len(chosen):
            reasons[self.lost_reason] += len(chosen) - len(done)
        return len(done), reasons


@registry.register
class UndoRevokeAction(UndoAction):
    name = "undo_revoke_offer"
    label = "Undo revoke"
    event_kind = AccessEvent.Kind.REVOKED
    left_status = AccessStatus.REVOKED
    explanation = (
        "Gives back the access that bulk action #{pk} ({what}) revoked, and nothing else: "
        "a grant changed since stays as it is."
    )
    lost_reason = HAS_OFFER_AGAIN

    def blocked(self, within=None):
        again = Grant.objects.filter(
            contact=OuterRef("contact"), offer=OuterRef("offer"), status=AccessStatus.ACTIVE
        )
        if within is not None:
            # Led by the chunk's own contacts: left unbounded, a planner may hash every
            # active grant of the site once a chunk, more of them as the Undo goes on.
            again = again.filter(
                contact_id__in=Grant.objects.filter(pk__any=within).values("contact_id")
            )
        return [
            (OFFER_DELETED, Q(offer__deleted_at__isnull=False)),
            (HAS_OFFER_AGAIN, Q(Exists(again))),
        ]

    def apply(self, grant_ids):
        return access_services.restore_grants(
            grant_ids=grant_ids, actor=self.actor, reason=self.bulk.reason, bulk_action=self.bulk
        )


@registry.register
class UndoGrantAction(UndoAction):
    name = "undo_grant_offer"
    label = "Undo grant"
    revokes = True
    event_kind = AccessEvent.Kind.GRANTED
    left_status = AccessStatus.ACTIVE
    explanation = (
        "Revokes the grants that bulk action #{pk} ({what}) made, and nothing else: "
        "a grant changed since stays as it is."
    )
    lost_reason = "already revoked"

    def apply(self, grant_ids):
        return access_services.revoke_grants(
            grant_ids=grant_ids, actor=self.actor, reason=self.bulk.reason, bulk_action=self.bulk
        )
