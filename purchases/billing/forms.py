"""The forms of `Cancel Payments`, `Pause Payments` and the Automations page."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from purchases.billing.services import CancelWhen, day_label
from purchases.models import Subscription

DATE_ERRORS = {"invalid": "Enter a real date, like 2026-05-01."}

# A date further away than this is a slip of the keyboard (a five-digit year), not a plan;
# it also keeps every date the billing computes from it well inside the calendar.
FURTHEST = timedelta(days=36500)


def _furthest_day():
    return timezone.localdate() + FURTHEST


def within_a_hundred_years(day) -> None:
    if day > _furthest_day():
        raise ValidationError(
            f"Pick a date within the next hundred years, up to {_furthest_day():%Y-%m-%d}."
        )


def _date_widget() -> forms.DateInput:
    tomorrow = timezone.localdate() + timedelta(days=1)
    return forms.DateInput(
        attrs={"type": "date", "min": tomorrow.isoformat(), "max": _furthest_day().isoformat()},
        format="%Y-%m-%d",
    )


class CancelPaymentsForm(forms.Form):
    when = forms.ChoiceField(
        label="When should the payments stop?",
        choices=CancelWhen.choices,
        initial=CancelWhen.PERIOD_END,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose when the payments should stop.",
            "invalid_choice": "Choose when the payments should stop.",
        },
    )
    on = forms.DateField(
        label="Date",
        required=False,
        error_messages=DATE_ERRORS,
        validators=[within_a_hundred_years],
    )

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].widget = _date_widget()
        ends = subscription.next_billing_at
        if ends and subscription.status != Subscription.Status.PAUSED:
            when = day_label(ends) if ends > timezone.now() else "already over: ends now"
            self.fields["when"].choices = [
                (CancelWhen.PERIOD_END, f"{CancelWhen.PERIOD_END.label} ({when})"),
                *CancelWhen.choices[1:],
            ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("when") == CancelWhen.DATE and not cleaned.get("on"):
            if "on" not in self.errors:
                self.add_error("on", "Pick the date on which the payments should stop.")
        return cleaned


class PausePaymentsForm(forms.Form):
    INDEFINITELY, UNTIL = "indefinitely", "until"

    how = forms.ChoiceField(
        label="How long?",
        choices=[(INDEFINITELY, "Pause indefinitely"), (UNTIL, "Pause until")],
        initial=INDEFINITELY,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how long to pause.",
            "invalid_choice": "Choose how long to pause.",
        },
    )
    until = forms.DateField(
        label="Pause until date",
        required=False,
        error_messages=DATE_ERRORS,
        validators=[within_a_hundred_years],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["until"].widget = _date_widget()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("how") == self.UNTIL and not cleaned.get("until"):
            if "until" not in self.errors:
                self.add_error("until", "Pick the date to pause until.")
        if cleaned.get("how") == self.INDEFINITELY:
            cleaned["until"] = None
        return cleaned
