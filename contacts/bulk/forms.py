"""The bulk actions' forms: which contacts, which action and its parameters, the confirmation."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from contacts.bulk.emails import MAX_EMAILS
from contacts.bulk.pasted import pasted_selection_for
from contacts.filters import contacts_matching
from contacts.models import Tag
from kajaccess.forms import DatabaseIdField, MultiLineField, SingleLineField
from kajaccess.models import Site
from products.models import Offer
from purchases.access.services import REASON_MAX_LENGTH


def search_within(query: QueryDict) -> str:
    """The search and filters a query string holds, without the empty fields or how the
    table is shown; "" when it lists every contact."""
    kept = QueryDict(mutable=True)
    for name, values in query.lists():
        values = [value for value in values if value]
        if name not in VIEW_PARAMETERS and values:
            kept.setlist(name, values)
    return kept.urlencode()


# More than the largest page of the table; "Select all matching" covers any number.
MAX_CHECKED = 500


# Above this many contacts the creator types the number to confirm.
CONFIRM_ABOVE = 100


# How the table is shown, not which contacts match: left out of "all matching". A pasted
# selection is a field of its own.
VIEW_PARAMETERS = ("page", "sort", "per_page", "pasted")


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
    """Which contacts: the checked ones, all that match the Contacts tab's search and filters,
    or those of a pasted list of emails (which then wins over the other two)."""

    ids = ContactIdsField(required=False)
    select_all = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000, strip=False)
    pasted = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args, site, user=None, **kwargs):
        self.site = site
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_pasted(self) -> int | None:
        if not self.cleaned_data["pasted"]:
            return None
        pasted = pasted_selection_for(
            site=self.site, user=self.user, pasted_id=self.cleaned_data["pasted"]
        )
        return pasted.pk

    def clean_query(self) -> str:
        query = QueryDict(self.cleaned_data["query"], mutable=True)
        for name in VIEW_PARAMETERS:
            query.pop(name, None)
        return query.urlencode()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["pasted"]:
            if search_within(QueryDict(data["query"])):
                contacts_matching(self.site, data["query"])  # a search within it, as below
            return data
        if data["select_all"]:
            contacts_matching(self.site, data["query"])  # refuses filters that do not validate
        elif not data["ids"]:
            raise ValidationError("Select at least one contact.")
        return data

    def selection(self) -> dict:
        """The selection as a BulkAction records it; its contacts are stored when it starts."""
        if self.cleaned_data["pasted"]:
            # Searched within, the pasted selection is the part of it the table lists.
            search = search_within(QueryDict(self.cleaned_data["query"]))
            return {"pasted": self.cleaned_data["pasted"], **({"query": search} if search else {})}
        if self.cleaned_data["select_all"]:
            return {"all": True, "query": self.cleaned_data["query"]}
        return {"ids": self.cleaned_data["ids"]}


class BulkActionForm(SelectionForm):
    """A selection and one of the action bar's actions (`menu`, the action classes it offers)."""

    action = forms.ChoiceField(error_messages={"required": "Choose an action."})

    def __init__(self, *args, menu, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        field.choices = [(action.name, action.label) for action in menu]
        labels = ", ".join(action.label for action in menu)
        field.error_messages["invalid_choice"] = f"Choose one of the bulk actions: {labels}."


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
    # How many contacts the preview showed when the creator confirmed.
    previewed = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, selected: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.selected = selected
        if selected > CONFIRM_ABOVE:
            self.fields["confirm_count"].label = f"Type {selected:,} to confirm"
        else:
            del self.fields["confirm_count"]

    def clean_confirm_count(self) -> int:
        typed = re.sub(r"[\s,.]", "", self.cleaned_data["confirm_count"])
        if typed != str(self.selected):
            raise ValidationError(
                f"Type {self.selected:,}, the number of selected contacts, to confirm."
            )
        return self.selected

    def clean(self):
        data = super().clean()
        previewed = data.get("previewed")
        if previewed is not None and previewed != self.selected:
            raise ValidationError(
                f"The selection changed since the preview: it has {self.selected:,} contacts "
                f"now, not {previewed:,}. Check what will change, then confirm again."
            )
        return data


class OfferChoiceForm(forms.Form):
    """The Offer of a bulk grant or revoke: one of the site's live offers."""

    offer = DatabaseIdField(
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
    """The tag of a bulk tag action: any name, the site's tags offered as suggestions."""

    tag = SingleLineField(
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

    @property
    def suggestions(self) -> list[str]:
        """The site's tag names, for the field's list (`site-tags`)."""
        return list(
            Tag.objects.filter(site=self.site).order_by("name").values_list("name", flat=True)
        )


class PasteEmailsForm(forms.Form):
    """`Paste emails`: the list whose contacts become the selection."""

    emails = forms.CharField(
        label="Emails",
        # 100,000 emails of 80 characters: more is refused before it is read.
        max_length=MAX_EMAILS * 80,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "aria-describedby": "paste-emails-help"}),
        help_text="One a line, or separated by commas, semicolons or spaces. "
        f"Up to {MAX_EMAILS:,}.",
        error_messages={"required": "Paste at least one email."},
    )

    def clean_emails(self) -> str:
        if "\x00" in self.cleaned_data["emails"]:
            raise ValidationError("The list holds a character that is not text. Paste it again.")
        return self.cleaned_data["emails"]
