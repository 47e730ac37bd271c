import django_filters
from django.db.models import Q

from contacts.models import Contact
from purchases.access.states import PRODUCT_STATES, AccessState


class ProgressFilter(django_filters.FilterSet):
    """The Product Progress report's filters: who, and in which access state."""

    q = django_filters.CharFilter(method="search", label="Search name or email")
    access = django_filters.ChoiceFilter(
        label="Access",
        choices=[(state.value, state.label) for state in PRODUCT_STATES],
        empty_label="Any access",
        method="in_state",
    )

    class Meta:
        model = Contact
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))

    def in_state(self, queryset, name, value):
        return queryset.filter(access_rank=AccessState(value).rank)
