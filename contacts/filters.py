"""The Contacts tab's search and filters; a bulk action's "all matching" is resolved from them."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict

from contacts.models import ContactTag, Tag
from contacts.search import search_box
from contacts.selectors import contacts_count
from kajaccess.filters import RefusingFilterSet
from kajaccess.models import Site
from products.models import Offer, Product
from purchases.access.facts import offer_counts, product_counts, state_counts
from purchases.models import OfferHolder, ProductHolder, Subscription
from purchases.reports.selectors import contacts_table

ACCESS_CHOICES = [
    ("has_access", "Has access"),
    ("revoked", "Revoked"),
    ("none", "No access"),
]


class ContactFilter(RefusingFilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method=search_box,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Part of a name or email",
                "autocomplete": "off",
            }
        ),
    )
    offer = django_filters.ModelChoiceFilter(
        label="Offer",
        queryset=Offer.objects.none(),
        method="filter_offer",
        empty_label="Any",
        error_messages={"invalid_choice": "That offer no longer exists."},
    )
    product = django_filters.ModelChoiceFilter(
        label="Product",
        queryset=Product.objects.none(),
        method="filter_product",
        empty_label="Any",
        error_messages={"invalid_choice": "That product no longer exists."},
    )
    tag = django_filters.ModelChoiceFilter(
        label="Tag",
        queryset=Tag.objects.none(),
        method="filter_tag",
        empty_label="Any",
        error_messages={"invalid_choice": "That tag no longer exists."},
    )
    access = django_filters.ChoiceFilter(
        label="Access",
        choices=ACCESS_CHOICES,
        method="filter_access",
        empty_label="Any",
        error_messages={"invalid_choice": "Choose an access state from the list."},
    )
    billing = django_filters.ChoiceFilter(
        label="Subscription",
        choices=Subscription.Status.choices,
        method="filter_billing",
        empty_label="Any",
        error_messages={"invalid_choice": "Choose a subscription state from the list."},
    )

    def __init__(self, data=None, queryset=None, *, site, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.site = site
        self.filters["offer"].queryset = Offer.objects.filter(site=site).order_by("title", "pk")
        self.filters["product"].queryset = Product.objects.filter(site=site).order_by("title", "pk")
        self.filters["tag"].queryset = Tag.objects.filter(site=site).order_by("name", "pk")
        self.form.fields["offer"].label_from_instance = lambda offer: (
            f"{offer.title} (deleted)" if offer.is_deleted else offer.title
        )

    def _set(self) -> dict:
        values = self.form.cleaned_data
        return {
            name: value
            for name, value in ((name, values.get(name)) for name in self.filters)
            if (value.strip() if isinstance(value, str) else value is not None)
        }

    @property
    def narrows(self) -> bool:
        """Whether a search or filter is set: without one, the list is the whole site."""
        return not self.is_valid() or bool(self._set())

    def counted(self) -> int | None:
        """How many contacts the list holds, from the access counters, when a Product, an
        Offer, an access state or a subscription state is the only filter set; None when
        the rows must be counted (through an index)."""
        if not self.is_valid():
            return None
        chosen = self._set()
        if len(chosen) != 1:
            return None
        ((name, value),) = chosen.items()
        if name == "product":
            return sum(product_counts([value.pk])[value.pk].values())
        if name == "offer":
            return sum(offer_counts([value.pk]).values())
        if name == "billing":
            return state_counts(self.site)[f"billing_{value}"]
        if name == "access" and value == "none":
            return contacts_count(self.site) - state_counts(self.site)["has_access"]
        if name == "access":
            return state_counts(self.site)[value]
        return None

    def filter_offer(self, queryset, name, offer):
        return queryset.filter(
            Exists(OfferHolder.objects.filter(contact=OuterRef("pk"), offer=offer))
        )

    def filter_product(self, queryset, name, product):
        held = ProductHolder.objects.filter(contact=OuterRef("pk"), product=product)
        return queryset.filter(Exists(held))

    def filter_tag(self, queryset, name, tag):
        return queryset.filter(Exists(ContactTag.objects.filter(contact=OuterRef("pk"), tag=tag)))

    def filter_access(self, queryset, name, value):
        # The contacts' access facts, brought up to the present by contacts_table.
        if value == "has_access":
            return queryset.filter(products_count__gt=0)
        if value == "revoked":
            return queryset.filter(has_revoked_access=True)
        return queryset.filter(products_count=0)

    def filter_billing(self, queryset, name, status):
        billing = Subscription.objects.filter(grant__contact=OuterRef("pk"), status=status)
        return queryset.filter(Exists(billing))


def contacts_matching(site: Site, query: str) -> QuerySet:
    """The contacts the Contacts tab shows for a query string of its search and filters.

    Raises ValidationError when a filter does not validate (a tag deleted since, say):
    leaving that filter out would match contacts that nobody chose.
    """
    filters = ContactFilter(QueryDict(query), queryset=contacts_table(site), site=site)
    if not filters.is_valid():
        raise ValidationError(
            f"The search or filters of this selection can no longer be used: {filters.refusal} "
            "Search again, then select the contacts."
        )
    return filters.qs
