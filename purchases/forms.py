from django import forms

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
