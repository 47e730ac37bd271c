import django_filters

from contacts.models import Contact
from contacts.search import search_box
from kajaccess.filters import RefusingFilterSet
from purchases.access.states import PRODUCT_STATES, AccessState


class ProgressFilter(RefusingFilterSet):
    """The Product Progress report's filters: who, and in which access state."""

    q = django_filters.CharFilter(method=search_box, label="Search name or email")
    access = django_filters.ChoiceFilter(
        label="Access",
        choices=[(state.value, state.label) for state in PRODUCT_STATES],
        empty_label="Any access",
        method="in_state",
        error_messages={"invalid_choice": "Pick an access state from the list."},
    )

    class Meta:
        model = Contact
        fields = []

    def in_state(self, queryset, name, value):
        return queryset.filter(access_rank=AccessState(value).rank)
