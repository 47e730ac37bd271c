"""Bulk access dates: `Set access end date` and `Remove end date` for one Offer, and their Undo.

Each acts on the selected contacts' active grant of the Offer. Undo gives every grant
the end it had before, where the end is still the one the bulk action gave it.
"""

from abc import abstractmethod
from collections import Counter
from datetime import datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from contacts.bulk.actions import OfferAction, Preview, _tally, registry
from contacts.bulk.forms import OfferChoiceForm
from contacts.bulk.undo import UndoAction
from purchases.access import services as access_services
from purchases.access.states import ended_grant_q, has_ended
from purchases.models import AccessEvent, AccessStatus, Grant

ALREADY_ENDS = "already ends then"
STARTS_AFTER = "starts on or after that date"
NO_END = "has no end date"
ALREADY_REVOKED = "already revoked"
ENDED = "access already ended"
NO_GRANT = "no such grant"
CHANGED_SINCE = "dates changed since"


class EndDateForm(OfferChoiceForm):
    """The Offer and the day its access ends, at the start of that day."""

    ends_on = forms.DateField(
        label="Access ends on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Enter the end date.", "invalid": "Enter a valid date."},
    )

    def clean_ends_on(self):
        ends_on = self.cleaned_data["ends_on"]
        ends_at = timezone.make_aware(datetime.combine(ends_on, time.min))
        now = timezone.now()
        if ends_at <= now:
            raise ValidationError("Choose an end date still to come.")
        access_services.check_access_dates(
            starts_at=now, expires_at=ends_at, now=now, check_start=False
        )
        return ends_at

    def params(self) -> dict:
        return {**super().params(), "ends_at": self.cleaned_data["ends_on"].isoformat()}


class EndDateAction(OfferAction):
    permission = "kajaccess.run_bulk_actions"
    undo_action = "undo_access_dates"

    @abstractmethod
    def end(self) -> datetime | None:
        """The end every changed grant gets: a date to come, or None for no end."""

    def active_grants(self, **filters) -> Q:
        """The contact holds a grant of the Offer that is on and whose end has not passed."""
        grants = Grant.objects.filter(
            offer=self.offer, contact=OuterRef("pk"), status=AccessStatus.ACTIVE, **filters
        ).exclude(expires_at__lte=timezone.now())
        return Q(Exists(grants))

    def held(self, *conditions: Q) -> Q:
        grants = Grant.objects.filter(*conditions, offer=self.offer, contact=OuterRef("pk"))
        return Q(Exists(grants))

    def tally(self, contacts, *, will_change: Q, skipped: dict[str, Q]):
        holds, held, ended = self.active_grants(), self.held(), self.held(ended_grant_q())
        return _tally(
            contacts,
            will_change=will_change,
            skipped={
                **skipped,
                ENDED: ended & ~holds,
                ALREADY_REVOKED: held & ~holds & ~ended,
                NO_GRANT: ~held,
            },
            still_billing=holds & self.still_billing(),
        )

    def execute(self, contact_ids):
        end = self.end()
        grants = Grant.objects.filter(offer=self.offer, contact_id__in=contact_ids)
        active = dict(grants.filter(status=AccessStatus.ACTIVE).values_list("pk", "contact_id"))
        changed = access_services.set_end_dates(
            ends={pk: end for pk in active},
            actor=self.actor,
            reason=self.bulk.reason,
            bulk_action=self.bulk,
        )
        reasons = Counter()
        now = timezone.now()
        for grant in Grant.objects.filter(pk__in=set(active) - set(changed)):
            if has_ended(grant, now):
                reasons[ENDED] += 1
            elif grant.status != AccessStatus.ACTIVE:
                reasons[ALREADY_REVOKED] += 1
            elif end is None:
                reasons[NO_END] += 1
            elif grant.starts_at >= end:
                reasons[STARTS_AFTER] += 1
            else:
                reasons[ALREADY_ENDS] += 1
        # Contacts with no active grant; one with an old revoked grant beside an active
        # one is counted once, by its active grant, above.
        held = grants.exclude(contact_id__in=active.values()).values("contact_id")
        ended = held.filter(ended_grant_q(now=now)).distinct().count()
        revoked = held.distinct().count() - ended
        reasons.update({ENDED: ended, ALREADY_REVOKED: revoked})
        none = len(contact_ids) - len(set(active.values())) - ended - revoked
        reasons.update({NO_GRANT: none})
        return len(changed), +reasons


@registry.register
class SetEndDateAction(EndDateAction):
    name = "set_end_date"
    label = "Set access end date"
    form_class = EndDateForm
    prompt = "Choose an offer and an end date to see what will change."

    def end(self) -> datetime:
        return datetime.fromisoformat(self.params["ends_at"])

    def describe(self) -> str:
        return f"{super().describe()} on {timezone.localtime(self.end()):%b %-d, %Y}"

    def count(self, contacts):
        end = self.end()
        return self.tally(
            contacts,
            will_change=self.active_grants(starts_at__lt=end) & ~self.active_grants(expires_at=end),
            skipped={
                ALREADY_ENDS: self.active_grants(expires_at=end),
                STARTS_AFTER: self.active_grants(starts_at__gte=end)
                & ~self.active_grants(expires_at=end),
            },
        )


@registry.register
class RemoveEndDateAction(EndDateAction):
    name = "remove_end_date"
    label = "Remove end date"

    def end(self) -> None:
        return None

    def count(self, contacts):
        ending = self.active_grants(expires_at__isnull=False)
        return self.tally(
            contacts,
            will_change=ending,
            skipped={NO_END: self.active_grants(expires_at__isnull=True)},
        )


@registry.register
class UndoAccessDatesAction(UndoAction):
    """Gives each grant back the end it had, where the end is still the bulk action's."""

    name = "undo_access_dates"
    label = "Undo access dates"
    event_kind = AccessEvent.Kind.ACCESS_DATES_CHANGED
    left_status = AccessStatus.ACTIVE
    explanation = (
        "Gives back the end dates that bulk action #{pk} ({what}) changed, and nothing "
        "else: a grant whose dates changed since stays as it is."
    )
    lost_reason = CHANGED_SINCE

    def choose(self, grants) -> tuple[dict, Counter]:
        """The end to give back to each grant still as the original left it; why not the rest."""
        events = AccessEvent.objects.filter(
            bulk_action_id=self.original.pk, kind=self.event_kind, grant__in=grants
        ).values_list("grant_id", "details")
        given = {grant_id: details["expires_at"] for grant_id, details in events}
        ends, reasons = {}, Counter()
        now = timezone.now()
        for grant in Grant.objects.filter(pk__in=given):
            old, new = (datetime.fromisoformat(v) if v else None for v in given[grant.pk])
            if has_ended(grant, now):
                reasons[ENDED] += 1
            elif grant.status != AccessStatus.ACTIVE:
                reasons[ALREADY_REVOKED] += 1
            elif grant.expires_at != new:
                reasons[CHANGED_SINCE] += 1
            else:
                ends[grant.pk] = old
        return ends, reasons

    def count(self, contacts):
        ends, reasons = self.choose(self.changed_by_original().filter(contact__in=contacts))
        return Preview(
            selected=len(ends) + sum(reasons.values()), will_change=len(ends), skipped=reasons
        )

    def apply(self, chosen: dict) -> list[int]:
        """Each chosen grant gets back its own end (`choose` maps the grant to it)."""
        return access_services.set_end_dates(
            ends=chosen, actor=self.actor, reason=self.bulk.reason, bulk_action=self.bulk
        )
