"""The form of Settings > API keys: a new key's name, scopes and optional expiry."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from kajaccess.forms import SingleLineField
from kajaccess.keys.services import NAME_MAX_LENGTH
from kajaccess.models import ApiKey


class ApiKeyForm(forms.Form):
    name = SingleLineField(
        label="Name",
        max_length=NAME_MAX_LENGTH,
        help_text="The system that will use it, e.g. “Stripe chargebacks”. Changes made "
        "with the key are signed with this name.",
        error_messages={"required": "Give the key a name, such as the system that will use it."},
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKey.Scope.READ],
        error_messages={
            "required": "Choose at least one scope.",
            "invalid_choice": "Choose scopes from the list.",
        },
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave it empty for a key that works until it is revoked.",
        error_messages={"invalid": "Enter a valid date."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="api-key-%s", **kwargs)

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a day after today.")
        if day is not None and day.year > timezone.localdate().year + 10:
            raise forms.ValidationError("Choose a day within ten years.")
        return day

    def expires_at(self) -> datetime | None:
        """The key stops working at the start of the chosen day."""
        day = self.cleaned_data["expires_on"]
        return timezone.make_aware(datetime.combine(day, time.min)) if day else None
