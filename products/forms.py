from django import forms

from kajaccess.forms import DatabaseIdsField, SingleLineField
from products.models import ACCESS_DAYS_MAX, INSTALLMENTS_MAX, PRICE_MAX, Offer, Product


class SiteProductsField(DatabaseIdsField):
    def label_from_instance(self, obj):
        return obj.title


class PaymentTypeRadios(forms.RadioSelect):
    """The payment types as radio buttons, each described by the sentence shown under it."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["description"] = Offer.PaymentType(value).description
        # The whole card is the label, to tap anywhere on; the name is the type's alone.
        option["attrs"]["aria-labelledby"] = f"{option['attrs']['id']}_label"
        option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_description"
        return option


class OfferForm(forms.ModelForm):
    """Create or edit an Offer; the Products offered are the site's only.

    The fields the chosen payment type gives no meaning to are cleared whatever was sent:
    the screen hides them, but they may still hold what was typed before the type changed.
    """

    products = SiteProductsField(
        queryset=Product.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Pick at least one product: an offer gives access to its products."
        },
        help_text="Existing customers of this offer gain a product you add and lose one "
        "you remove; they keep their progress.",
    )
    # The product choice the creator saw the effect of, so a preview confirms only that change.
    confirmed_products = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Offer
        fields = [
            "title",
            "products",
            "payment_type",
            "price",
            "installments",
            "interval",
            "access_days",
        ]
        labels = {
            "price": "Price (USD)",
            "interval": "Billing interval",
            "installments": "Number of payments",
        }
        help_texts = {
            "price": "For a subscription or a payment plan: the amount of each payment.",
            "interval": "For a subscription or a payment plan: how often it bills.",
            "installments": "For a payment plan only.",
            "access_days": "Leave empty for access without an end. Changing it applies to "
            "new grants only: existing customers keep the access period they got.",
        }
        widgets = {
            "title": forms.TextInput(attrs={"autocomplete": "off"}),
            "payment_type": PaymentTypeRadios,
        }
        field_classes = {"title": SingleLineField}

    # What the offer costs and how it bills: only for a member whose role sets prices.
    PRICE_FIELDS = ("payment_type", "price", "interval", "installments")

    def __init__(self, *args, site, with_price: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.site = site
        self.fields["products"].queryset = Product.objects.filter(site=site).order_by("title", "pk")
        self.fields["access_days"].widget.attrs.update(min="1", max=str(ACCESS_DAYS_MAX))
        self.saved_product_ids = (
            set(self.instance.products.values_list("pk", flat=True)) if self.instance.pk else set()
        )
        if with_price:
            self.fields["price"].widget.attrs.update(min="0", max=str(PRICE_MAX), step="0.01")
            if self.instance.pk is None:
                # A price to type, rather than a 0 that only a free offer may keep.
                self.initial["price"] = None
            self.fields["installments"].widget.attrs.update(min="2", max=str(INSTALLMENTS_MAX))
            self._clear_what_the_payment_type_leaves_out()
            return
        for name in self.PRICE_FIELDS:
            del self.fields[name]
        if self.instance.pk is None:
            # Free until an owner or administrator gives it a price.
            self.instance.payment_type = Offer.PaymentType.FREE

    def _clear_what_the_payment_type_leaves_out(self) -> None:
        if not self.is_bound:
            return
        try:
            chosen = Offer.PaymentType(self.data.get(self.add_prefix("payment_type")))
        except (TypeError, ValueError):
            return  # the payment type's own error says what to pick
        # Unset: no price and no number of payments; the interval stays as it was.
        unset = {"price": "0", "installments": "", "interval": self.instance.interval}
        data = self.data.copy()
        for name, value in unset.items():
            if name not in chosen.pricing_fields:
                data[self.add_prefix(name)] = value
        self.data = data

    def product_changes(self) -> tuple[list[Product], list[Product]]:
        """The Products this change adds to the Offer and those it takes out."""
        chosen = list(self.cleaned_data["products"])
        chosen_ids = {product.pk for product in chosen}
        added = [p for p in chosen if p.pk not in self.saved_product_ids]
        removed = [
            p
            for p in self.fields["products"].queryset
            if p.pk in self.saved_product_ids and p.pk not in chosen_ids
        ]
        return added, removed

    def product_choice_key(self) -> str:
        return ",".join(str(pk) for pk in sorted(p.pk for p in self.cleaned_data["products"]))

    def is_confirmed(self) -> bool:
        return self.cleaned_data.get("confirmed_products") == self.product_choice_key()

    def service_arguments(self) -> dict:
        """The form's values; a field left out of the form keeps the offer's own value."""
        data = self.cleaned_data
        return {
            name: data[name] if name in self.fields else getattr(self.instance, name)
            for name in self.Meta.fields
        }


class OfferProductsForm(forms.Form):
    """The Products ticked on the offer form, for the hint of who a change reaches."""

    products = DatabaseIdsField(queryset=Product.objects.none(), required=False)

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = Product.objects.filter(site=site)
