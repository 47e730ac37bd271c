import django_filters
from django import forms

from kajaccess.actors import ActorKind
from kajaccess.filters import RefusingFilterSet
from purchases.models import AccessEvent, BulkAction


class ActivityFilter(RefusingFilterSet):
    """The Activity tab: a site's audit trail, newest first, by kind of change and of actor."""

    kind = django_filters.ChoiceFilter(
        label="What happened", choices=AccessEvent.Kind.choices, empty_label="Anything"
    )
    actor_kind = django_filters.ChoiceFilter(
        label="Done by", choices=ActorKind.choices, empty_label="Anyone"
    )

    # From a bulk action's page: what it changed. Not offered as a menu of every bulk action.
    bulk_action = django_filters.ModelChoiceFilter(
        label="Bulk action",
        queryset=BulkAction.objects.none(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "Choose a bulk action of this site."},
    )

    class Meta:
        model = AccessEvent
        fields = ["kind", "actor_kind", "bulk_action"]

    def __init__(self, data=None, *, site, **kwargs):
        events = (
            AccessEvent.objects.filter(site=site)
            .select_related("contact", "actor", "api_key", "product", "grant__offer")
            .order_by("-at", "-pk")
        )
        super().__init__(data, queryset=events, **kwargs)
        self.filters["bulk_action"].queryset = BulkAction.objects.filter(site=site)
