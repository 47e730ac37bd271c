"""The forms of bulk actions: the selection the Contacts tab sends, and the confirmation."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from contacts.bulk.actions import MENU
from contacts.filters import ContactFilter
from contacts.models import Contact
from kajaccess.forms import MultiLineField
from purchases.access.services import REASON_MAX_LENGTH

# More than the largest page of the table; "Select all matching" covers any number.
MAX_CHECKED = 500


# Above this many contacts the creator types the number to confirm.
CONFIRM_ABOVE = 100


# How the table is shown, not which contacts match: left out of "all matching".
VIEW_PARAMETERS = ("page", "sort", "per_page")


CONTACT_ID = re.compile(r"[1-9][0-9]{0,17}")


class ContactIdsField(forms.Field):
    """The checked contacts' ids: whole numbers, each once."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        ids = []
        for raw in value or []:
            if not CONTACT_ID.fullmatch(raw.strip()):
                raise ValidationError(
                    "Some of the selected contacts could not be read. "
                    "Reload the page and select them again."
                )
            ids.append(int(raw))
        ids = list(dict.fromkeys(ids))
        if len(ids) > MAX_CHECKED:
            raise ValidationError(
                f"Check at most {MAX_CHECKED} contacts at a time ({len(ids)} were sent), "
                "or select all contacts matching a search."
            )
        return ids


class SelectionForm(forms.Form):
    """Which contacts: the checked ones, or all that match the Contacts tab's search and filters."""

    ids = ContactIdsField(required=False)
    select_all = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000, strip=False)

    def __init__(self, *args, site, **kwargs):
        self.site = site
        super().__init__(*args, **kwargs)

    def clean_query(self) -> str:
        query = QueryDict(self.cleaned_data["query"], mutable=True)
        for name in VIEW_PARAMETERS:
            query.pop(name, None)
        return query.urlencode()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["select_all"]:
            filters = ContactFilter(
                QueryDict(data["query"]), queryset=Contact.objects.none(), site=self.site
            )
            if not filters.is_valid():
                raise ValidationError(
                    "The search or filters of this selection can no longer be used. "
                    "Search again, then select the contacts."
                )
        elif not data["ids"]:
            raise ValidationError("Select at least one contact.")
        return data

    def selection(self) -> dict:
        """The selection as a BulkAction stores it; "all matching" is rebuilt when it runs."""
        if self.cleaned_data["select_all"]:
            return {"all": True, "query": self.cleaned_data["query"]}
        return {"ids": self.cleaned_data["ids"]}


class BulkActionForm(SelectionForm):
    """A selection and one of the action bar's actions."""

    action = forms.ChoiceField(
        choices=[(action.name, action.label) for action in MENU],
        error_messages={
            "required": "Choose an action.",
            "invalid_choice": "Choose one of the bulk actions: "
            + ", ".join(action.label for action in MENU)
            + ".",
        },
    )


class ConfirmForm(forms.Form):
    """The confirmation popup: an optional reason and, for many contacts, their number."""

    reason = MultiLineField(
        label="Reason",
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "aria-describedby": "bulk-reason-help"}),
        help_text="Optional. Your team sees it in each contact's Activity.",
        error_messages={
            "max_length": "The reason can be at most %(limit_value)d characters "
            "(it has %(show_value)d)."
        },
    )
    confirm_count = forms.CharField(
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, selected: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.selected = selected
        if selected > CONFIRM_ABOVE:
            self.fields["confirm_count"].label = f"Type {selected} to confirm"
        else:
            del self.fields["confirm_count"]

    def clean_confirm_count(self) -> int:
        typed = re.sub(r"[\s,.]", "", self.cleaned_data["confirm_count"])
        if typed != str(self.selected):
            raise ValidationError(
                f"Type {self.selected}, the number of selected contacts, to confirm."
            )
        return self.selected
