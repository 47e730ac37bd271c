"""What every URL's forms take, for the fuzzer in tests/test_fuzz.py.

FORMS maps each URL name of `patterns()` to its forms: their fields, each with a kind
(which decides the HOSTILE values it must refuse) and a value it accepts.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.bulk.access_dates import EndDateForm
from contacts.bulk.actions import OfferChoiceForm, TagChoiceForm
from contacts.bulk.forms import BulkActionForm, ConfirmForm, PasteEmailsForm, SelectionForm
from contacts.filters import ContactFilter
from contacts.forms import AddContactForm, EditContactForm
from contacts.imports.forms import ImportFileForm, ImportForm, StartImportForm
from contacts.imports.steps import preview_token
from contacts.models import Contact, ContactImport, PastedSelection, Tag
from kajaccess.filters import RefusingFilterSet
from kajaccess.keys.forms import ApiKeyForm
from kajaccess.sign_in import AdminSignInForm, SignInForm
from kajaccess.team.forms import AddMemberForm, RoleForm, TransferOwnershipForm
from products.filters import ProgressFilter
from products.forms import OfferForm, OfferProductsForm
from products.models import Offer, Product
from purchases.automations.forms import AutomationForm
from purchases.billing.forms import CancelPaymentsForm, PausePaymentsForm
from purchases.filters import ActivityFilter
from purchases.forms import AccessChangeForm, AccessDatesForm, GrantOfferForm
from purchases.models import BulkAction
from purchases.webhooks.forms import WebhookEndpointForm

HOSTILE = {
    "empty": "",
    "long": "x" * 10_000,
    "nul": "a\x00b",
    "crlf": "a\r\nb",
    "negative": "-1",
    "out of bounds": "99999999",  # a whole number the database holds, beyond any bound
    "huge": str(2**63),
    "exponent": "1e400",
    "nan": "NaN",
    "impossible date": "2026-02-30",
    "far date": "9999-12-31",
    "other site": None,  # the id of another site's row, filled in per field
}
EVERY = frozenset(HOSTILE)
# What a field of each kind must refuse; it may take the other values, but never with a 500.
REFUSES = {
    "line": frozenset({"empty", "long", "nul", "crlf"}),  # a title or a name
    "optional line": frozenset({"long", "nul", "crlf"}),
    "text": frozenset({"long", "nul"}),  # a reason: several lines
    "id": EVERY,
    "optional id": EVERY - {"empty"},
    # Another site's contacts and ids nobody has are counted and skipped, as the preview says.
    "contact ids": EVERY - {"other site", "out of bounds"},
    "number": EVERY - {"empty", "other site"},  # a small id is a fine number of days
    "money": EVERY - {"other site"},
    "choice": EVERY,
    "optional choice": EVERY - {"empty"},
    "date": EVERY,
    "optional date": EVERY - {"empty"},
    "search": frozenset({"nul"}),
    "query": frozenset({"long", "nul"}),
    "sign-in": EVERY,
    "email": EVERY,
    "lenient": frozenset(),  # flags, `next`, page, page size, sort: read leniently
    # A keyset page (the Contacts tab, a Progress report, the Activity tab): a number (out
    # of range is the nearest end), "last", or a link's cursor, which anything else claims
    # to be and is not.
    "page": EVERY - {"empty", "negative", "out of bounds", "huge", "other site"},
    # A file field: each value is sent as the contents of an uploaded file (multipart).
    # "a\r\nb" is a header and a row: a file like any other, whose column the creator maps.
    "file": EVERY - {"crlf"},
    "token": EVERY,  # what the creator confirms: anything but the preview's is refused
}


@dataclass(frozen=True)
class Field:
    kind: str
    valid: object = ""  # a value it takes: text, a list, or a function of the world
    model: type | None = None  # for ids: the model whose row of another site is sent
    many: bool = False


@dataclass(frozen=True)
class Form:
    method: str
    fields: dict = field(default_factory=dict)
    # The form classes and filter sets that read these fields.
    classes: tuple = ()
    refused: frozenset = frozenset({400})
    # Whether the valid form changes something: then "nothing changed" means something.
    changes: bool = False
    user: str = "creator"
    ids: dict = field(default_factory=dict)  # URL ids other than the world's
    # The fields made hostile, when another variant of the URL's form covers the rest.
    only: tuple | None = None
    # The fields are read by the whole page only; HTMX asks for a part that passes them on.
    page_only: bool = False


def _ada(w) -> Contact:
    return Contact.objects.get(pk=w["ids"]["contact_id"])


def _import(w) -> ContactImport:
    return ContactImport.objects.get(pk=w["ids"]["import_id"])


def _customers_csv(w) -> SimpleUploadedFile:
    """A new file each time it is asked for: a file sent once has been read to its end."""
    text = "Email,Name,Tags\nnewcomer@example.com,New Comer,Spring\nada@example.com,,\n"
    return SimpleUploadedFile("customers.csv", text.encode(), content_type="text/csv")


def _line(valid):
    return Field("line", valid)


NEXT = {"next": Field("lenient", "/contacts/")}
# An offer to grant to a contact or to every imported row, and whether to send its email.
OPTIONAL_GRANT = {
    "offer": Field("optional id", lambda w: w["offer_to_grant"], Offer),
    "send_email": Field("lenient", "on"),
}
REASON = {"reason": Field("text", "Refunded\r\non request")}
VIEW = {name: Field("lenient") for name in ("page", "per_page", "sort")}
SELECTION = {
    "ids": Field("contact ids", lambda w: [w["ids"]["contact_id"]], many=True),
    "select_all": Field("lenient"),
    "query": Field("query", "q=ada"),
    "pasted": Field("optional id", model=PastedSelection),
}
OFFER_FIELDS = {
    # The Products the edited Offer has: a change to them would stop at its preview.
    # At least one is required: none is refused like any other wrong choice.
    "products": Field("id", lambda w: w["bootcamp_products"], Product, many=True),
    "payment_type": Field("choice", "payment_plan"),
    "price": Field("money", "10.00"),
    "interval": Field("choice", "month"),
    "installments": Field("number", "3"),
    "access_days": Field("number", "30"),
    "confirmed_products": Field("lenient"),
}
OFFER_CLASSES = (OfferForm,)
BULK_CLASSES = (BulkActionForm, ConfirmForm)
IN_A_MONTH = lambda w: (timezone.localdate() + timedelta(days=30)).isoformat()  # noqa: E731
RESTORABLE = {"contact_id": "grace_id", "grant_id": "revoked_grant_id"}
PARTLY_REVOKED = {"contact_id": "partly_contact_id", "grant_id": "partly_grant_id"}
# One-time links that work: a password reset's and an invitation's.
RESET = {"uidb64": "reset_uid", "token": "reset_token"}
INVITATION = {"uidb64": "invite_uid", "token": "invite_token"}
NEW_PASSWORD = "a long new passphrase 1"


def _bulk(action: str, params: dict, classes: tuple, *, start: bool, first: bool) -> Form:
    fields = {**SELECTION, "action": Field("choice", action), **params}
    if start:
        fields |= {**REASON, "confirm_count": Field("lenient"), "previewed": Field("lenient")}
    else:  # the preview only carries what was typed over to the confirmation
        fields |= {
            "reason": Field("lenient"),
            "confirm_count": Field("lenient"),
            "previewed": Field("lenient"),
        }
    only = None if first else tuple(params)
    return Form("POST", fields, BULK_CLASSES + classes, changes=start, only=only)


def _bulk_forms(*, start: bool) -> tuple:
    return tuple(_bulk(*params, start=start, first=i == 0) for i, params in enumerate(BULK_PARAMS))


BULK_PARAMS = [
    ("add_tag", {"tag": _line("Fuzzed")}, (TagChoiceForm,)),
    (
        "grant_offer",
        {"offer": Field("id", lambda w: w["offer_to_grant"], Offer)},
        (OfferChoiceForm,),
    ),
    (
        "set_end_date",
        {
            "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
            "ends_on": Field("date", IN_A_MONTH),
        },
        (EndDateForm,),
    ),
]


def _progress(fields: dict) -> tuple:
    return (Form("GET", fields, (ProgressFilter,)),)


CONTACTS_SEARCH = {
    "q": Field("search", "ada"),
    "offer": Field("optional id", model=Offer),
    "product": Field("optional id", model=Product),
    "tag": Field("optional id", model=Tag),
    "access": Field("optional choice"),
    "billing": Field("optional choice"),
    # An address naming a pasted selection that is not the member's still shows the tab.
    "pasted": Field("lenient"),
    **VIEW,
    "page": Field("page", "last"),
}
# A step of the contact panel carries the table's search: the whole page reads it.
PANEL_STEP = (Form("GET", CONTACTS_SEARCH, (ContactFilter, RefusingFilterSet), page_only=True),)
PROGRESS = {"q": Field("search", "ada"), "access": Field("optional choice")}
CHANGE_ACCESS = (Form("POST", {**REASON, **NEXT}, (AccessChangeForm,), changes=True),)
RESTORE = (Form("POST", {**REASON, **NEXT}, (AccessChangeForm,), changes=True, ids=RESTORABLE),)
RESTORE_PRODUCT = (
    Form("POST", {**REASON, **NEXT}, (AccessChangeForm,), changes=True, ids=PARTLY_REVOKED),
)
FORMS = {
    "home": (Form("GET"),),
    "login": (
        Form(
            "POST",
            {
                "username": Field("sign-in", "creator@example.com"),
                "password": Field("sign-in", "kajaccess-demo"),
                **NEXT,
            },
            (SignInForm, AdminSignInForm),
            refused=frozenset({200, 429}),
            changes=True,
            user="nobody",
        ),
    ),
    "logout": (Form("POST", changes=True, user="leaving"),),
    "library:index": (Form("GET", user="ada"),),
    "library:product": (Form("GET", user="ada"),),
    "library:lesson": (Form("GET", user="ada"),),
    "library:complete": (Form("POST", user="ada", changes=True),),
    "contacts:list": (Form("GET", CONTACTS_SEARCH, (ContactFilter, RefusingFilterSet)),),
    "contacts:profile": (Form("GET"),),
    "contacts:preview": PANEL_STEP,
    "contacts:products": PANEL_STEP,
    "contacts:more_info": PANEL_STEP,
    "contacts:purchases": (Form("GET"),),
    "contacts:activity": (Form("GET", {"page": Field("lenient")}),),
    "contacts:grant_offer_form": (Form("GET", NEXT),),
    "contacts:add": (
        Form("GET", NEXT),
        Form(
            "POST",
            {
                "email": Field("email", "newcomer@example.com"),
                "name": Field("optional line", "New Comer"),
                "tags": Field("optional id", lambda w: [w["site_tag"]], Tag, many=True),
                "new_tags": Field("optional line", "Imported, Spring"),
                **OPTIONAL_GRANT,
                "library_sign_in": Field("lenient", "on"),
                **NEXT,
            },
            (AddContactForm,),
            changes=True,
        ),
    ),
    "contacts:edit": (
        Form("GET", NEXT),
        Form(
            "POST",
            {
                "name": Field("optional line", "Ada Renamed"),
                "email": Field("email", "ada.renamed@example.com"),
                "shown_name": Field("lenient", lambda w: _ada(w).name),
                "shown_email": Field("lenient", lambda w: _ada(w).email),
                **NEXT,
            },
            (EditContactForm,),
            changes=True,
        ),
    ),
    "contacts:grant_offer": (
        Form(
            "POST",
            {
                "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
                "send_email": Field("lenient", "on"),
                **NEXT,
            },
            (GrantOfferForm,),
            changes=True,
        ),
    ),
    "contacts:revoke_confirm": (Form("GET", NEXT),),
    "contacts:revoke_product_confirm": (Form("GET", NEXT),),
    "contacts:restore_confirm": (Form("GET", NEXT, ids=RESTORABLE),),
    "contacts:restore_product_confirm": (Form("GET", NEXT, ids=PARTLY_REVOKED),),
    "contacts:edit_access_dates_form": (Form("GET", NEXT),),
    "contacts:edit_access_dates": (
        Form(
            "POST",
            {
                "starts_on": Field("date", "2026-03-02"),
                "ends_on": Field("optional date", IN_A_MONTH),
                "no_end": Field("lenient"),
                "shown_starts_at": Field("lenient"),
                "shown_expires_at": Field("lenient"),
                **REASON,
                **NEXT,
            },
            (AccessDatesForm,),
            changes=True,
        ),
    ),
    "contacts:revoke": CHANGE_ACCESS,
    "contacts:revoke_product": CHANGE_ACCESS,
    "contacts:restore": RESTORE,
    "contacts:restore_product": RESTORE_PRODUCT,
    "bulk:preview": _bulk_forms(start=False),
    "bulk:start": _bulk_forms(start=True),
    "bulk:export": (Form("GET", SELECTION, (SelectionForm,)), Form("POST", SELECTION)),
    "bulk:paste": (
        Form("GET"),
        Form(
            "POST",
            {"emails": Field("text", "ada@example.com, nobody@example.com\r\nGRACE@example.com")},
            (PasteEmailsForm,),
            changes=True,
        ),
    ),
    "bulk:pasted_not_found": (Form("GET"),),
    "contacts:import": (
        Form("GET"),
        Form("POST", {"file": Field("file", _customers_csv)}, (ImportFileForm,), changes=True),
    ),
    "contacts:import_detail": (
        Form("GET"),
        Form(
            "POST",
            {
                "email": Field("choice", "0"),
                "name": Field("optional choice", "1"),
                "tags": Field("optional choice", "2"),
                "existing": Field("choice", "update"),
                **OPTIONAL_GRANT,
                "tag": Field("optional line", "Imported"),
            },
            (ImportForm,),
            changes=True,
        ),
    ),
    # A token that is not the preview's is refused as a preview that changed: a 409.
    "contacts:import_start": (
        Form(
            "POST",
            {**REASON, "token": Field("token", lambda w: preview_token(_import(w)))},
            (StartImportForm,),
            refused=frozenset({400, 409}),
            changes=True,
        ),
    ),
    "contacts:import_invalid_rows": (Form("GET"),),
    "bulk:history": (Form("GET", {"page": Field("lenient")}),),
    "bulk:detail": (Form("GET"),),
    "bulk:undo_confirm": (Form("GET"),),
    "bulk:undo": (
        Form(
            "POST",
            {**REASON, "confirm_count": Field("lenient"), "previewed": Field("lenient")},
            (ConfirmForm,),
            changes=True,
        ),
    ),
    "products:list": (Form("GET"),),
    "products:progress": _progress({**PROGRESS, **VIEW, "page": Field("page", "last")}),
    "products:progress_csv": _progress(PROGRESS),
    "products:offers": (Form("GET"),),
    "products:offer_create": (
        Form("POST", {"title": _line("Fuzz Course"), **OFFER_FIELDS}, OFFER_CLASSES, changes=True),
    ),
    "products:offer_edit": (
        Form("POST", {"title": _line("Bootcamp"), **OFFER_FIELDS}, OFFER_CLASSES, changes=True),
    ),
    "products:offer_changes": (
        Form(
            "GET",
            {"products": Field("optional id", lambda w: [w["ids"]["product_id"]], Product, True)},
            (OfferProductsForm,),
        ),
    ),
    "products:offer_delete": (Form("GET"), Form("POST", changes=True)),
    "products:offer_restore": (Form("POST"),),
    "purchases:activity": (
        Form(
            "GET",
            {
                "kind": Field("optional choice"),
                "actor_kind": Field("optional choice"),
                "bulk_action": Field("optional id", model=BulkAction),
                "page": Field("page", "last"),
            },
            (ActivityFilter,),
        ),
    ),
    "billing:subscription": (Form("GET", NEXT),),
    "billing:cancel": (
        Form(
            "POST",
            {"when": Field("choice", "date"), "on": Field("date", IN_A_MONTH), **NEXT},
            (CancelPaymentsForm,),
            changes=True,
        ),
    ),
    "billing:pause": (
        Form(
            "POST",
            {"how": Field("choice", "until"), "until": Field("date", IN_A_MONTH), **NEXT},
            (PausePaymentsForm,),
            changes=True,
        ),
    ),
    "billing:stop_cancellation": (Form("POST", NEXT),),
    "billing:resume": (Form("POST", NEXT),),
    "automations:list": (
        Form(
            "POST",
            {
                "trigger": Field("choice", "tag_added"),
                "tag_name": _line("Fuzzed"),
                "trigger_offer": Field("optional id", model=Offer),
                "action": Field("choice", "grant_offer"),
                "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
            },
            (AutomationForm,),
            changes=True,
        ),
        # Set off by an offer: the offer that sets it off is required.
        Form(
            "POST",
            {
                "trigger": Field("choice", "offer_granted"),
                "tag_name": Field("optional line"),
                "trigger_offer": Field("id", lambda w: w["ids"]["offer_id"], Offer),
                "action": Field("choice", "revoke_offer"),
                "offer": Field("id", lambda w: w["offer_to_grant"], Offer),
            },
            changes=True,
            only=("trigger_offer", "tag_name"),
        ),
    ),
    "automations:pause": (Form("POST", changes=True),),
    "automations:resume": (Form("POST"),),
    "automations:delete": (Form("GET"), Form("POST", changes=True)),
    # The site switcher: a site the member is not on, or no site at all, is refused.
    "switch_site": (
        Form(
            "POST",
            {"site": Field("id", lambda w: w["ids"]["site_id"])},
            refused=frozenset({400, 404}),
        ),
    ),
    "team:list": (
        Form("GET"),
        Form(
            "POST",
            {
                "email": Field("email", "joiner@example.com"),
                "name": Field("optional line", "Jo Iner"),
                "role": Field("choice", "assistant"),
            },
            (AddMemberForm,),
            changes=True,
        ),
    ),
    "team:role": (Form("POST", {"role": Field("choice", "support")}, (RoleForm,), changes=True),),
    "team:suspend": (Form("GET"), Form("POST", changes=True)),
    "team:reactivate": (Form("POST"),),
    "team:remove": (Form("GET"), Form("POST", changes=True)),
    "team:resend_invitation": (Form("POST", changes=True, ids={"member_id": "invited_member_id"}),),
    "team:transfer": (
        Form("GET"),
        Form(
            "POST",
            {"password": Field("sign-in", "kajaccess-demo")},
            (TransferOwnershipForm,),
            changes=True,
        ),
    ),
    "api_keys:list": (
        Form("GET"),
        Form(
            "POST",
            {
                "name": Field("line", "Help desk"),
                "scopes": Field("choice", "read"),
                "expires_on": Field("optional date", "2030-01-01"),
            },
            (ApiKeyForm,),
            changes=True,
        ),
    ),
    "api_keys:revoke": (Form("GET"), Form("POST", changes=True)),
    "api_keys:rotate": (Form("GET"), Form("POST", changes=True)),
    "webhooks:list": (
        Form("GET"),
        Form(
            "POST",
            {
                "url": Field("line", "https://hooks.example.com/new"),
                "event_types": Field("choice", "access.revoked"),
            },
            (WebhookEndpointForm,),
            changes=True,
        ),
    ),
    "webhooks:detail": (Form("GET"),),
    "webhooks:delete": (Form("GET"), Form("POST", changes=True)),
    "webhooks:enable": (Form("POST", changes=True),),
    "webhooks:resend": (Form("POST", changes=True),),
    "accept_invitation": (Form("GET", user="nobody", ids=INVITATION),),
    "password_reset": (
        Form("GET", user="nobody"),
        Form("POST", {"email": Field("email", "creator@example.com")}, user="nobody"),
    ),
    "password_reset_done": (Form("GET", user="nobody"),),
    "password_reset_confirm": (Form("GET", user="nobody", ids=RESET),),
    "password_reset_complete": (Form("GET", user="nobody"),),
    "password_change": (
        Form("GET"),
        Form(
            "POST",
            {
                "old_password": Field("sign-in", "kajaccess-demo"),
                "new_password1": Field("sign-in", NEW_PASSWORD),
                "new_password2": Field("sign-in", NEW_PASSWORD),
            },
            changes=True,
            user="changer",  # a new password moves the session: the creator's client keeps its own
        ),
    ),
    "password_change_done": (Form("GET"),),
}
