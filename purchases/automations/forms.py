from django import forms

from contacts.models import Tag
from kajaccess.forms import DatabaseIdField, SingleLineField
from products.models import Offer
from purchases.models import Automation


class AutomationForm(forms.Form):
    trigger = forms.ChoiceField(
        label="When",
        choices=Automation.Trigger.choices,
        error_messages={"invalid_choice": "Choose what sets the automation off."},
    )
    tag_name = SingleLineField(
        label="Tag",
        required=False,
        max_length=80,
        help_text="For “A tag is added”: pick a tag, or type a new one.",
    )
    trigger_offer = DatabaseIdField(
        label="Offer that sets it off",
        queryset=Offer.objects.none(),
        required=False,
        empty_label="Choose an offer",
        help_text="For the payment, cancellation and grant triggers.",
        error_messages={"invalid_choice": "Choose one of your live offers."},
    )
    action = forms.ChoiceField(
        label="Then",
        choices=Automation.Action.choices,
        error_messages={"invalid_choice": "Choose what the automation does."},
    )
    offer = DatabaseIdField(
        label="Offer",
        queryset=Offer.objects.none(),
        empty_label="Choose an offer",
        error_messages={
            "required": "Choose the offer to grant or revoke.",
            "invalid_choice": "Choose one of your live offers.",
        },
    )

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        offers = Offer.objects.live().filter(site=site).order_by("title")
        self.fields["trigger_offer"].queryset = offers
        self.fields["offer"].queryset = offers
        self.tags = Tag.objects.filter(site=site).order_by("name")
        self.fields["tag_name"].widget.attrs["list"] = "automation-tags"
