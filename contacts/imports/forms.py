"""The forms of an import: the file, then its columns and what to do with every row."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from contacts.imports.files import MAX_ROWS
from contacts.imports.plan import Choices
from contacts.imports.rows import Mapping
from contacts.models import ContactImport
from kajaccess.forms import DatabaseIdField, MultiLineField, SingleLineField
from products.models import Offer
from purchases.access.services import REASON_MAX_LENGTH

NOT_IN_FILE = ""


class ImportFileForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text=f"CSV or XLSX, up to {MAX_ROWS:,} rows and {filesizeformat(settings.FILE_UPLOAD_MAX_SIZE)}.",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,.txt,text/csv,application/vnd.openxmlformats-"
                "officedocument.spreadsheetml.sheet"
            }
        ),
        error_messages={
            "required": "Choose a CSV or XLSX file of your contacts.",
            "empty": "The file is empty.",
            "invalid": "Choose a CSV or XLSX file of your contacts.",
        },
    )


class ImportForm(forms.Form):
    """Which column holds what, and what to do with every row; nothing changes until confirmed."""

    email = forms.TypedChoiceField(label="Email", coerce=int)
    name = forms.TypedChoiceField(label="Name", coerce=int, required=False, empty_value=None)
    tags = forms.TypedChoiceField(
        label="Tags",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Several tags in a cell are separated by commas or semicolons.",
    )
    existing = forms.ChoiceField(
        label="Contacts already in your list",
        choices=ContactImport.Existing.choices,
        initial=ContactImport.Existing.KEEP,
        widget=forms.RadioSelect,
    )
    offer = DatabaseIdField(
        label="Grant an offer to every row",
        queryset=Offer.objects.none(),
        required=False,
        empty_label="No offer",
        error_messages={"invalid_choice": "Choose one of your live offers."},
    )
    send_email = forms.BooleanField(label="Send each customer the grant email", required=False)
    tag = SingleLineField(
        label="Tag every imported contact",
        required=False,
        max_length=80,
        help_text="Optional: find this import's contacts later by this tag.",
        error_messages={"max_length": "A tag can be at most %(limit_value)d characters."},
    )

    def __init__(self, *args, contact_import: ContactImport, **kwargs):
        super().__init__(*args, **kwargs)
        columns = [(i, header) for i, header in enumerate(contact_import.headers)]
        invalid = {"invalid_choice": "Choose one of the file's columns."}
        self.fields["email"].choices = [("", "Choose a column"), *columns]
        self.fields["email"].error_messages |= {
            "required": "Choose the column of emails.",
            **invalid,
        }
        for name in ("name", "tags"):
            self.fields[name].choices = [(NOT_IN_FILE, "Not in the file"), *columns]
            self.fields[name].error_messages |= invalid
        self.fields["offer"].queryset = (
            Offer.objects.live().filter(site=contact_import.site).order_by("title")
        )

    def clean(self):
        data = super().clean()
        used = [data.get(name) for name in ("email", "name", "tags")]
        used = [column for column in used if column is not None]
        if len(used) != len(set(used)):
            raise ValidationError("Each column can be mapped once: choose different columns.")
        if data.get("send_email") and not data.get("offer"):
            self.add_error("send_email", "Choose an offer to send its grant email.")
        return data

    def mapping(self) -> Mapping:
        data = self.cleaned_data
        return Mapping(email=data["email"], name=data["name"], tags=data["tags"])

    def choices(self) -> Choices:
        data = self.cleaned_data
        return Choices(
            offer=data["offer"],
            send_email=data["send_email"],
            tag=data["tag"],
            update_existing=data["existing"] == ContactImport.Existing.UPDATE,
        )

    @classmethod
    def initial_of(cls, contact_import: ContactImport) -> dict:
        options = contact_import.options
        mapping = options.get("mapping", {})
        return {
            "email": mapping.get("email"),
            "name": NOT_IN_FILE if mapping.get("name") is None else mapping["name"],
            "tags": NOT_IN_FILE if mapping.get("tags") is None else mapping["tags"],
            "existing": ContactImport.Existing.UPDATE
            if options.get("update_existing")
            else ContactImport.Existing.KEEP,
            "offer": options.get("offer"),
            "send_email": options.get("send_email", False),
            "tag": options.get("tag", ""),
        }


class StartImportForm(forms.Form):
    reason = MultiLineField(
        label="Reason",
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional. Your team sees it in each contact's Activity.",
        error_messages={
            "max_length": "The reason can be at most %(limit_value)d characters "
            "(it has %(show_value)d)."
        },
    )
    # A hidden field: the page shows its errors beside the button (the preview is stale).
    token = forms.CharField(
        max_length=64,
        widget=forms.HiddenInput,
        error_messages=dict.fromkeys(
            ("required", "max_length", "null_characters_not_allowed"),
            "This is not the preview on this page (was it changed in another window?). "
            "Check the file again, then confirm. Nothing was imported.",
        ),
    )
