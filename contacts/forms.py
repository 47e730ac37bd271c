"""The forms of `Add contact` and `Edit contact`; the services check everything again."""

from django import forms
from django.core.exceptions import ValidationError

from contacts.models import Tag
from contacts.services import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from kajaccess.forms import DatabaseIdField, DatabaseIdsField, SingleLineField
from products.models import Offer

TAG_NAME_MAX_LENGTH = 80
NEW_TAGS_MAX = 20


def _email_field(*, first: bool) -> forms.CharField:
    # A CharField: the service says what is wrong with an address, in the product's words.
    return SingleLineField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "autofocus": first}),
        error_messages={
            "required": "Enter the contact's email address.",
            "max_length": f"An email address has at most {EMAIL_MAX_LENGTH} characters.",
        },
    )


def _name_field(*, first: bool) -> forms.CharField:
    return SingleLineField(
        label="Name",
        required=False,
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": first}),
        error_messages={"max_length": f"A name can be at most {NAME_MAX_LENGTH} characters."},
    )


class AddContactForm(forms.Form):
    email = _email_field(first=True)
    name = _name_field(first=False)
    tags = DatabaseIdsField(
        label="Tags",
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose tags of this site."},
    )
    new_tags = SingleLineField(
        label="New tags",
        required=False,
        max_length=1000,
        help_text="Optional. Separate several with commas.",
        error_messages={"max_length": "That is too many new tags at once."},
    )
    offer = DatabaseIdField(
        label="Grant an offer now",
        queryset=Offer.objects.none(),
        required=False,
        empty_label="No offer",
        error_messages={"invalid_choice": "Choose one of your live offers."},
    )
    send_email = forms.BooleanField(label="Send the customer an email", required=False)
    library_sign_in = forms.BooleanField(
        label="Invite them to sign in to the Library", required=False
    )

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, auto_id="add-contact-%s", **kwargs)
        self.fields["tags"].queryset = Tag.objects.filter(site=site).order_by("name")
        self.fields["offer"].queryset = Offer.objects.live().filter(site=site).order_by("title")

    def clean_new_tags(self) -> list[str]:
        names = [" ".join(name.split()) for name in self.cleaned_data["new_tags"].split(",")]
        names = [name for name in names if name]
        if len(names) > NEW_TAGS_MAX:
            raise ValidationError(f"Add at most {NEW_TAGS_MAX} new tags at once.")
        for name in names:
            if len(name) > TAG_NAME_MAX_LENGTH:
                raise ValidationError(
                    f"A tag name can be at most {TAG_NAME_MAX_LENGTH} characters."
                )
        return names


class EditContactForm(forms.Form):
    name = _name_field(first=True)
    email = _email_field(first=False)
    # What the form showed: a contact changed since is not overwritten.
    shown_name = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    shown_email = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="edit-contact-%s", **kwargs)
