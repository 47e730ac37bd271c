"""The form of Settings > Webhooks: an endpoint's https URL and the events it is sent."""

from django import forms

from purchases.webhooks.events import EVENT_TYPES
from purchases.webhooks.services import URL_MAX_LENGTH


class WebhookEndpointForm(forms.Form):
    # Checked by the service (https, a whole URL): a CharField so its words are the service's.
    url = forms.CharField(
        label="Endpoint URL",
        max_length=URL_MAX_LENGTH,
        strip=True,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/kajaccess-hooks"}),
        help_text="An https URL of yours that answers a POST with a 2xx status.",
        error_messages={"required": "Give the https URL that should receive the events."},
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(name, name) for name in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=EVENT_TYPES,
        error_messages={
            "required": "Choose at least one of the events listed.",
            "invalid_choice": "Choose events from the list.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="webhook-%s", **kwargs)
