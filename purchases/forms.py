from datetime import date, datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from kajaccess.forms import DatabaseIdField, MultiLineField
from products.models import Offer
from purchases.access.services import REASON_MAX_LENGTH


class AccessChangeForm(forms.Form):
    """The confirmation popup of `Revoke Access` and `Restore access`."""

    # The popup opens over pages with forms of their own: its ids must not clash.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="access-%s", **kwargs)

    reason = MultiLineField(
        label="Reason",
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={"rows": 3, "aria-describedby": "reason-help", "autofocus": True}
        ),
        help_text="Optional. Your team sees it in the contact's Purchases and Activity.",
        error_messages={
            "max_length": "The reason can be at most %(limit_value)d characters "
            "(it has %(show_value)d)."
        },
    )


class GrantOfferForm(forms.Form):
    offer = DatabaseIdField(
        label="Offer",
        queryset=Offer.objects.none(),
        empty_label="Choose an offer",
        widget=forms.Select(attrs={"autofocus": True}),
        error_messages={
            "required": "Choose the offer to grant.",
            "invalid_choice": "Choose one of your live offers.",
        },
    )
    send_email = forms.BooleanField(label="Send the customer an email", required=False)

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, auto_id="grant-offer-%s", **kwargs)
        self.fields["offer"].queryset = Offer.objects.live().filter(site=site).order_by("title")


class ShownMomentField(forms.CharField):
    """A date and time the popup showed, sent back as it was, to tell whether it changed."""

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("The popup was changed: reload the page and try again.") from None
        if timezone.is_naive(moment):
            raise ValidationError("The popup was changed: reload the page and try again.")
        return moment


class AccessDatesForm(forms.Form):
    """`Edit access dates`: a grant's start, its end or none, and why."""

    starts_on = forms.DateField(
        label="Access starts on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Enter the start date.", "invalid": "Enter a valid date."},
    )
    # Clears the end whatever the date field holds, as an empty date field does.
    no_end = forms.BooleanField(label="No end", required=False)
    ends_on = forms.DateField(
        label="Access ends on",
        required=False,
        widget=forms.DateInput(
            attrs={"type": "date", "aria-describedby": "access-dates-end-help"}, format="%Y-%m-%d"
        ),
        help_text="Access ends at the start of this day. Leave it empty for no end.",
        error_messages={"invalid": "Enter a valid date."},
    )
    reason = AccessChangeForm.base_fields["reason"]
    shown_starts_at = ShownMomentField(required=False)
    shown_expires_at = ShownMomentField(required=False)

    def __init__(self, *args, grant=None, **kwargs):
        super().__init__(*args, auto_id="access-dates-%s", **kwargs)
        self.fields["reason"].widget.attrs.pop("autofocus", None)
        if grant is not None and not self.is_bound:
            ends = grant.expires_at
            self.initial = {
                "starts_on": timezone.localdate(grant.starts_at),
                "ends_on": timezone.localdate(ends) if ends else None,
                "shown_starts_at": grant.starts_at.isoformat(),
                "shown_expires_at": ends.isoformat() if ends else "",
            }

    def shown(self) -> tuple[datetime, datetime | None] | None:
        starts = self.cleaned_data["shown_starts_at"]
        return None if starts is None else (starts, self.cleaned_data["shown_expires_at"])

    def dates(self) -> tuple[datetime, datetime | None]:
        """The chosen start and end; a day left as shown keeps its exact time."""
        shown_start, shown_end = self.shown() or (None, None)
        starts = _moment(self.cleaned_data["starts_on"], shown_start)
        if self.cleaned_data["no_end"] or not self.cleaned_data["ends_on"]:
            return starts, None
        return starts, _moment(self.cleaned_data["ends_on"], shown_end)


def _moment(day: date, shown: datetime | None) -> datetime:
    if shown is not None and timezone.localdate(shown) == day:
        return shown
    return timezone.make_aware(datetime.combine(day, time.min))
