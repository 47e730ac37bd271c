"""What the API reads and answers: snake_case, ids as strings, times in ISO 8601 UTC."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.filters import ACCESS_CHOICES
from contacts.services import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from purchases.access.services import REASON_MAX_LENGTH
from purchases.access.states import AccessState
from purchases.models import AccessEvent, Grant, Subscription


class IdField(serializers.CharField):
    """A row's id, as a string."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return str(value)


class ProblemSerializer(serializers.Serializer):
    """An error (RFC 9457): what went wrong, in words; for validation, each field's."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


# --- Contacts ---------------------------------------------------------------------------


class ContactSerializer(serializers.Serializer):
    id = IdField()
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, allow_blank=True, required=False)
    tags = serializers.SerializerMethodField()
    customer = serializers.BooleanField(
        source="is_customer", read_only=True, help_text="Holds or held a grant of some offer."
    )
    total_products = serializers.IntegerField(
        source="products_count", read_only=True, help_text="The Products the contact can open now."
    )
    created_at = serializers.DateTimeField(read_only=True)
    last_activity_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_tags(self, contact) -> list[str]:
        tags = getattr(contact, "tag_list", None)
        if tags is None:
            tags = contact.tags.order_by("name", "pk")
        return [tag.name for tag in tags]


class ContactCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, allow_blank=True, default="")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=80), default=list, max_length=50
    )


class ContactUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, required=False)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, allow_blank=True, required=False)


class ContactFiltersSerializer(serializers.Serializer):
    """The Contacts tab's filters, by their names there."""

    search = serializers.CharField(required=False, max_length=200)
    offer = serializers.CharField(required=False, help_text="An offer's id.")
    product = serializers.CharField(required=False, help_text="A product's id.")
    tag = serializers.CharField(required=False, help_text="A tag's name.")
    access = serializers.ChoiceField(choices=[value for value, _ in ACCESS_CHOICES], required=False)
    subscription = serializers.ChoiceField(choices=Subscription.Status.values, required=False)


class TagSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)


# --- Catalogue --------------------------------------------------------------------------


class ProductSerializer(serializers.Serializer):
    id = IdField()
    title = serializers.CharField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()


class OfferSerializer(serializers.Serializer):
    id = IdField()
    title = serializers.CharField()
    payment_type = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    access_days = serializers.IntegerField(allow_null=True)
    product_ids = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_product_ids(self, offer) -> list[str]:
        return [str(product.pk) for product in offer.products.all()]

    def get_deleted(self, offer) -> bool:
        return offer.is_deleted


class OfferRefSerializer(serializers.Serializer):
    """An offer or a product, by its id and title."""

    id = IdField()
    title = serializers.CharField()


# --- Access -----------------------------------------------------------------------------

STATES = AccessState.values


class ThroughSerializer(serializers.Serializer):
    """One grant through which the contact holds or held a Product, with its dates."""

    grant_id = serializers.CharField()
    offer = OfferRefSerializer()
    state = serializers.ChoiceField(choices=STATES)
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ContactProductSerializer(serializers.Serializer):
    """A Product the contact holds or held, its best state, and the offers it comes through."""

    product = OfferRefSerializer()
    state = serializers.ChoiceField(choices=STATES, source="state.value")
    state_label = serializers.CharField(source="state.label")
    offers = OfferRefSerializer(many=True)
    through = serializers.SerializerMethodField()
    lessons_done = serializers.IntegerField()
    lessons_total = serializers.IntegerField()

    @extend_schema_field(ThroughSerializer(many=True))
    def get_through(self, entry) -> list[dict]:
        rows = []
        for access, state in entry.accesses:
            grant = access.grant
            rows.append(
                {
                    "grant_id": str(grant.pk),
                    "offer": grant.offer,
                    "state": state.value,
                    "starts_at": grant.starts_at,
                    "expires_at": grant.expires_at,
                    # The Product's own revoke, else the whole grant's.
                    "revoked_at": access.revoked_at or grant.revoked_at,
                }
            )
        return ThroughSerializer(rows, many=True).data


class GrantProductSerializer(serializers.Serializer):
    product_id = IdField(source="access.product_id")
    title = serializers.CharField(source="product.title")
    state = serializers.ChoiceField(choices=STATES, source="state.value")
    state_label = serializers.CharField(source="state.label")
    revoked_at = serializers.DateTimeField(source="access.revoked_at", allow_null=True)
    lessons_done = serializers.IntegerField()
    lessons_total = serializers.IntegerField()


class GrantSerializer(serializers.Serializer):
    """A contact's access through one offer, as More Info shows it."""

    id = IdField(source="grant.pk")
    contact_id = IdField(source="grant.contact_id")
    offer = OfferRefSerializer(source="grant.offer")
    source = serializers.ChoiceField(choices=Grant.Source.values, source="grant.source")
    state = serializers.ChoiceField(choices=STATES, source="state.value")
    state_label = serializers.CharField(source="state.label")
    starts_at = serializers.DateTimeField(source="grant.starts_at")
    expires_at = serializers.DateTimeField(source="grant.expires_at", allow_null=True)
    revoked_at = serializers.DateTimeField(source="grant.revoked_at", allow_null=True)
    access_status = serializers.SerializerMethodField(
        help_text="As the Purchases tab reads it, e.g. “Revoked by Chargebacks (API)”; null "
        "while access is whole."
    )
    revoke_reason = serializers.SerializerMethodField()
    products = GrantProductSerializer(many=True)

    def get_access_status(self, detail) -> str | None:
        return detail.access.revoked_by if detail.access else None

    def get_revoke_reason(self, detail) -> str:
        return detail.access.reason if detail.access else ""


class GrantChangeSerializer(serializers.Serializer):
    """What a change answers: the grant as it is now, and whether anything changed."""

    changed = serializers.BooleanField()
    message = serializers.CharField()
    grant = GrantSerializer()


class GrantOfferSerializer(serializers.Serializer):
    offer = serializers.CharField(help_text="The id of an offer of the key's site.")
    send_email = serializers.BooleanField(
        default=False,
        help_text="Send the customer the email of the grant, as the dashboard does; only a "
        "new grant sends it.",
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, default="")


class AccessDatesSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="null: access never ends."
    )
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, default="")


# --- Events -----------------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    id = IdField()
    kind = serializers.ChoiceField(choices=AccessEvent.Kind.values)
    kind_label = serializers.CharField(source="get_kind_display")
    at = serializers.DateTimeField()
    contact_id = IdField()
    grant_id = IdField(allow_null=True)
    product_id = IdField(allow_null=True)
    actor_kind = serializers.CharField()
    actor_email = serializers.SerializerMethodField(allow_null=True)
    api_key = serializers.SerializerMethodField(allow_null=True, help_text="The key's name.")
    reason = serializers.CharField()
    details = serializers.DictField()

    def get_actor_email(self, event) -> str | None:
        return event.actor.email if event.actor_id else None

    def get_api_key(self, event) -> str | None:
        return event.api_key.name if event.api_key_id else None


class EventFiltersSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time.")
    contact = serializers.CharField(required=False, help_text="A contact's id.")
    kind = serializers.ChoiceField(choices=AccessEvent.Kind.values, required=False)


# --- Bulk actions -----------------------------------------------------------------------


class SelectionSerializer(serializers.Serializer):
    """Which contacts: exactly one of their ids, their emails, or the Contacts tab's filters."""

    contact_ids = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        allow_empty=False,
        max_length=100_000,
    )
    emails = serializers.ListField(
        child=serializers.CharField(max_length=EMAIL_MAX_LENGTH),
        required=False,
        allow_empty=False,
        max_length=100_000,
    )
    filters = ContactFiltersSerializer(required=False)

    def validate(self, data):
        given = [name for name in ("contact_ids", "emails", "filters") if name in data]
        if len(given) != 1:
            raise serializers.ValidationError("Give exactly one of contact_ids, emails or filters.")
        return data


class BulkActionStartSerializer(serializers.Serializer):
    action = serializers.CharField(
        help_text="grant_offer, revoke_offer, add_tag, remove_tag, set_access_end or "
        "remove_access_end."
    )
    params = serializers.DictField(
        default=dict, help_text='The action\'s parameters, e.g. {"offer": "7"} or {"tag": "VIP"}.'
    )
    selection = SelectionSerializer()
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, default="")


class UndoSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, default="")


class PreviewSerializer(serializers.Serializer):
    selected = serializers.IntegerField()
    will_change = serializers.IntegerField()
    skipped = serializers.DictField(child=serializers.IntegerField())
    still_billing = serializers.IntegerField()


class BulkActionSerializer(serializers.Serializer):
    id = IdField()
    action = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "running", "done", "failed"])
    params = serializers.SerializerMethodField()
    reason = serializers.CharField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    changed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    outcome = serializers.DictField()
    undo_of = IdField(source="undo_of_id", allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    status_url = serializers.SerializerMethodField()

    def get_params(self, bulk) -> dict:
        # The ids among the parameters (an offer's, the undone bulk action's) as strings.
        return {
            name: str(value) if isinstance(value, int) and not isinstance(value, bool) else value
            for name, value in bulk.params.items()
        }

    def get_status_url(self, bulk) -> str:
        request = self.context.get("request")
        path = f"/api/v1/bulk-actions/{bulk.pk}/"
        return request.build_absolute_uri(path) if request else path


class BulkActionStartedSerializer(serializers.Serializer):
    bulk_action = BulkActionSerializer()
    preview = PreviewSerializer()
    status_url = serializers.CharField()
