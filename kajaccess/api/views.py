"""The API's endpoints: each parses its input with a serializer and calls one service or
selector, the same ones as the dashboard, with the key as the actor."""

from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, generics, mixins, serializers, status
from rest_framework.response import Response

from contacts import services as contacts
from contacts.bulk.actions import action_for, registry
from contacts.bulk.pasted import pasted_selection_create
from contacts.bulk.runner import start_bulk_action, start_undo
from contacts.bulk.selection import preview
from contacts.filters import ContactFilter
from contacts.models import Contact, Tag
from kajaccess.actors import Actor
from kajaccess.api import idempotency
from kajaccess.api import serializers as s
from kajaccess.api.problems import Conflict
from kajaccess.models import ApiKey
from products.models import Offer, Product
from purchases.access import selectors as access
from purchases.access import services as access_services
from purchases.access.emails import GrantEmail
from purchases.models import AccessEvent, BulkAction, Grant
from purchases.reports.selectors import contacts_table

READ, ACCESS, CONTACTS, BULK = ApiKey.Scope.values
NOT_HERE = "Nothing with this id is here for this key."


def _pk(value: str) -> int:
    """An id from the path or a parameter; one no row can have is simply not here."""
    highest = connection.ops.integer_field_range("BigAutoField")[1]
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= highest:
        raise exceptions.NotFound(NOT_HERE)
    return int(value)


def _valid(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SiteView(generics.GenericAPIView):
    """Everything of one site: the key's. Another site's rows are never found."""

    scopes: dict[str, str] = {}
    idempotency_slot: str | None = None

    # The query parameters the view reads: any other is refused, so that a misspelt
    # filter (`?tags=VIP`) is never taken for no filter at all.
    query_names: frozenset[str] = frozenset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.query_names)
        if unknown:
            takes = ", ".join(sorted(self.query_names)) or "none"
            raise exceptions.ValidationError(
                {
                    name[:50]: [f"Not a parameter of this endpoint (it takes: {takes})."]
                    for name in unknown[:10]
                }
            )
        self.idempotency_slot = idempotency.replay_or_reserve(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.idempotency_slot is not None:
            idempotency.keep(request, self.idempotency_slot, response)
        return response

    @property
    def site(self):
        return self.request.auth.site

    @property
    def actor(self) -> Actor:
        return Actor.api(self.request.auth)

    def contact(self, contact_id: str) -> Contact:
        return get_object_or_404(Contact, site=self.site, pk=_pk(contact_id))

    def grant(self, grant_id: str) -> Grant:
        return get_object_or_404(
            Grant.objects.select_related("contact", "offer"), site=self.site, pk=_pk(grant_id)
        )

    def product(self, product_id: str) -> Product:
        return get_object_or_404(Product, site=self.site, pk=_pk(product_id))

    def contact_row(self, contact: Contact) -> dict:
        """A contact as the Contacts tab lists it: tags, customer, total products."""
        return s.ContactSerializer(contacts_table(self.site).get(pk=contact.pk)).data

    def grant_change(self, grant: Grant, outcome, *, created: bool = False) -> Response:
        detail = access.grant_detail(grant)
        body = {"changed": outcome.changed, "message": outcome.message, "grant": detail}
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.GrantChangeSerializer(body).data, status=code)


class SiteList(mixins.ListModelMixin, SiteView):
    """A list of the key's site, a page at a time (`?cursor=`, `next`)."""

    query_names = frozenset({"cursor", "page_size"})

    def get(self, request):
        return self.list(request)


# --- Contacts ---------------------------------------------------------------------------

CONTACT_FILTERS = [
    OpenApiParameter("search", str, description="Part of a name or an email."),
    # Each filter sent empty is no filter, as the Contacts tab's "Any".
    OpenApiParameter("offer", str, description="Holds or held this offer (its id)."),
    OpenApiParameter("product", str, description="Holds or held this product (its id)."),
    OpenApiParameter("tag", str, description="Has this tag (its name)."),
    OpenApiParameter(
        "access",
        str,
        enum=["", "has_access", "revoked", "none"],
        description="Access now; empty: any.",
    ),
    OpenApiParameter(
        "subscription",
        str,
        enum=["", "active", "paused", "past_due", "canceled", "completed"],
        description="Has a subscription or payment plan in this state; empty: any.",
    ),
]


class ContactList(SiteList):
    scopes = {"GET": READ, "POST": CONTACTS}
    query_names = SiteList.query_names | set(s.ContactFiltersSerializer().fields)
    serializer_class = s.ContactSerializer

    def get_queryset(self) -> QuerySet:
        # A filter sent empty is no filter, as in the Contacts tab's form.
        sent = {k: v for k, v in self.request.query_params.items() if v.strip()}
        data = contact_filter_query(self.site, _valid(s.ContactFiltersSerializer, sent))
        filters = ContactFilter(data, queryset=contacts_table(self.site), site=self.site)
        if not filters.is_valid():
            raise exceptions.ValidationError(
                {_ours(name): list(errors) for name, errors in filters.errors.items()}
            )
        return filters.qs

    @extend_schema(
        summary="List contacts", operation_id="contacts_list", parameters=CONTACT_FILTERS
    )
    def get(self, request):
        return super().get(request)

    @extend_schema(
        summary="Add a contact",
        request=s.ContactCreateSerializer,
        responses={201: s.ContactSerializer, 409: OpenApiResponse(s.ProblemSerializer)},
    )
    def post(self, request):
        data = _valid(s.ContactCreateSerializer, request.data)
        contact = contacts.contact_create(
            site=self.site,
            email=data["email"],
            name=data["name"],
            new_tag_names=data["tags"],
            actor=self.actor,
        )
        return Response(self.contact_row(contact), status=status.HTTP_201_CREATED)


def contact_filter_query(site, wanted: dict) -> QueryDict:
    """The API's filters (named as the Contacts tab labels them) as the tab's query string."""
    data = QueryDict(mutable=True)
    for ours, theirs in (("search", "q"), ("access", "access"), ("subscription", "billing")):
        if wanted.get(ours):
            data[theirs] = wanted[ours]
    for name in ("offer", "product"):
        if wanted.get(name):
            data[name] = str(_pk_or_refuse(name, wanted[name]))
    if wanted.get("tag"):
        tag = Tag.objects.filter(site=site, name__iexact=wanted["tag"].strip()).first()
        if tag is None:
            raise exceptions.ValidationError({"tag": ["No tag has this name here."]})
        data["tag"] = str(tag.pk)
    return data


def _pk_or_refuse(name: str, value: str) -> int:
    try:
        return _pk(value.strip())
    except exceptions.NotFound:
        raise exceptions.ValidationError({name: ["Give the id of one of this site's."]}) from None


def _ours(name: str) -> str:
    return {"q": "search", "billing": "subscription"}.get(name, name)


class ContactDetail(SiteView):
    scopes = {"GET": READ, "PATCH": CONTACTS}
    serializer_class = s.ContactSerializer

    @extend_schema(summary="Get a contact")
    def get(self, request, contact_id: str):
        return Response(self.contact_row(self.contact(contact_id)))

    @extend_schema(
        summary="Change a contact's name or email",
        request=s.ContactUpdateSerializer,
        responses={200: s.ContactSerializer, 409: OpenApiResponse(s.ProblemSerializer)},
    )
    def patch(self, request, contact_id: str):
        contact = self.contact(contact_id)
        data = _valid(s.ContactUpdateSerializer, request.data)
        outcome = contacts.contact_update(
            contact=contact,
            name=data.get("name", contact.name),
            email=data.get("email", contact.email),
            shown_name=contact.name,
            shown_email=contact.email,
            actor=self.actor,
        )
        return Response(self.contact_row(outcome.obj))


class ContactByEmail(SiteView):
    scopes = {"GET": READ}
    serializer_class = s.ContactSerializer

    @extend_schema(summary="Find a contact by email (any letter case)")
    def get(self, request, email: str):
        contact = contacts.contact_with_email(site=self.site, email=email.strip())
        if contact is None:
            raise exceptions.NotFound("No contact of this site has this email.")
        return Response(self.contact_row(contact))


class ContactAccess(SiteView):
    scopes = {"GET": READ}
    serializer_class = s.ContactProductSerializer

    @extend_schema(
        summary="Every Product the contact holds or held",
        description="Best state first. A contact's Products are few, so the list is one "
        "page: `next` is always null.",
        responses={
            200: inline_serializer(
                "ContactAccessList",
                {
                    "next": serializers.CharField(allow_null=True),
                    "results": s.ContactProductSerializer(many=True),
                },
            )
        },
    )
    def get(self, request, contact_id: str):
        entries = access.contact_products(self.contact(contact_id))
        return Response({"next": None, "results": self.get_serializer(entries, many=True).data})


class ContactGrants(SiteView):
    scopes = {"POST": ACCESS}
    serializer_class = s.GrantChangeSerializer

    @extend_schema(
        summary="Grant an offer",
        description="201 with the new grant; 200 with the contact's active grant of the "
        "offer if it has one already (nothing changes).",
        request=s.GrantOfferSerializer,
        responses={201: s.GrantChangeSerializer, 200: s.GrantChangeSerializer},
    )
    def post(self, request, contact_id: str):
        contact = self.contact(contact_id)
        data = _valid(s.GrantOfferSerializer, request.data)
        offer = Offer.objects.filter(site=self.site, pk=_pk_or_refuse("offer", data["offer"]))
        offer = offer.first()
        if offer is None:
            raise exceptions.ValidationError({"offer": ["No offer of this site has this id."]})
        outcome = access_services.grant_offer(contact=contact, offer=offer, actor=self.actor)
        if outcome.changed and data["send_email"]:
            # As the dashboard's `Grant offer` does: a mail server's failure is logged, and
            # the grant stands.
            library_url = request.build_absolute_uri(reverse("library:index"))
            GrantEmail(outcome.obj, library_url).send()
        return self.grant_change(outcome.obj, outcome, created=outcome.changed)


class ContactTags(SiteView):
    scopes = {"POST": CONTACTS}
    serializer_class = s.ContactSerializer

    @extend_schema(summary="Tag a contact", request=s.TagSerializer)
    def post(self, request, contact_id: str):
        contact = self.contact(contact_id)
        data = _valid(s.TagSerializer, request.data)
        tag = contacts.tag_get_or_create(site=self.site, name=data["name"])
        contacts.add_tag(tag=tag, contact_ids=[contact.pk], actor=self.actor)
        return Response(self.contact_row(contact))


class ContactTag(SiteView):
    scopes = {"DELETE": CONTACTS}
    serializer_class = s.ContactSerializer

    @extend_schema(summary="Untag a contact", responses={200: s.ContactSerializer})
    def delete(self, request, contact_id: str, name: str):
        contact = self.contact(contact_id)
        tag = Tag.objects.filter(site=self.site, name__iexact=name.strip()).first()
        if tag is not None:
            contacts.remove_tag(tag=tag, contact_ids=[contact.pk], actor=self.actor)
        return Response(self.contact_row(contact))


# --- Grants -----------------------------------------------------------------------------


class GrantDetail(SiteView):
    scopes = {"GET": READ, "PATCH": ACCESS}
    serializer_class = s.GrantSerializer

    @extend_schema(summary="Get a grant")
    def get(self, request, grant_id: str):
        return Response(s.GrantSerializer(access.grant_detail(self.grant(grant_id))).data)

    @extend_schema(
        summary="Change a grant's access dates",
        request=s.AccessDatesSerializer,
        responses={200: s.GrantChangeSerializer},
    )
    def patch(self, request, grant_id: str):
        grant = self.grant(grant_id)
        data = _valid(s.AccessDatesSerializer, request.data)
        outcome = access_services.set_access_dates(
            grant=grant,
            starts_at=data.get("starts_at", grant.starts_at),
            expires_at=data.get("expires_at", grant.expires_at),
            actor=self.actor,
            reason=data["reason"],
        )
        return self.grant_change(grant, outcome)


class GrantChange(SiteView):
    """Revoke or restore a whole grant, or one Product of it."""

    scopes = {"POST": ACCESS}
    serializer_class = s.GrantChangeSerializer
    revoke = True

    def post(self, request, grant_id: str, product_id: str | None = None):
        grant = self.grant(grant_id)
        product = self.product(product_id) if product_id is not None else None
        reason = _valid(s.ReasonSerializer, request.data)["reason"]
        if self.revoke and product is None:
            outcome = access_services.revoke_grant(grant=grant, actor=self.actor, reason=reason)
        elif self.revoke:
            outcome = access_services.revoke_product(
                grant=grant, product=product, actor=self.actor, reason=reason
            )
        else:
            outcome = access_services.restore_access(
                grant=grant, product=product, actor=self.actor, reason=reason
            )
        return self.grant_change(grant, outcome)


def _change_view(name: str, revoke: bool, summary: str):
    # A function of its own for each, as extend_schema marks the function it decorates.
    def post(self, request, grant_id: str, product_id: str | None = None):
        return GrantChange.post(self, request, grant_id, product_id)

    decorated = extend_schema(summary=summary, request=s.ReasonSerializer)(post)
    return type(name, (GrantChange,), {"revoke": revoke, "post": decorated})


GrantRevoke = _change_view("GrantRevoke", True, "Revoke a grant")
GrantRestore = _change_view("GrantRestore", False, "Restore a grant")
GrantProductRevoke = _change_view("GrantProductRevoke", True, "Revoke one Product of a grant")
GrantProductRestore = _change_view("GrantProductRestore", False, "Restore one Product of a grant")


# --- Catalogue and events --------------------------------------------------------------


class OfferList(SiteList):
    scopes = {"GET": READ}
    serializer_class = s.OfferSerializer

    def get_queryset(self):
        return Offer.objects.filter(site=self.site).prefetch_related("products")

    @extend_schema(summary="List offers, deleted ones included", operation_id="offers_list")
    def get(self, request):
        return super().get(request)


class ProductList(SiteList):
    scopes = {"GET": READ}
    serializer_class = s.ProductSerializer

    def get_queryset(self):
        return Product.objects.filter(site=self.site)

    @extend_schema(summary="List products", operation_id="products_list")
    def get(self, request):
        return super().get(request)


class EventList(SiteList):
    scopes = {"GET": READ}
    query_names = SiteList.query_names | set(s.EventFiltersSerializer().fields)
    serializer_class = s.EventSerializer

    def get_queryset(self):
        sent = {k: v for k, v in self.request.query_params.items() if v.strip()}
        wanted = _valid(s.EventFiltersSerializer, sent)
        events = AccessEvent.objects.filter(site=self.site).select_related("actor", "api_key")
        if "since" in wanted:
            events = events.filter(at__gte=wanted["since"])
        if "contact" in wanted:
            events = events.filter(contact_id=_pk_or_refuse("contact", wanted["contact"]))
        if "kind" in wanted:
            events = events.filter(kind=wanted["kind"])
        return events

    @extend_schema(
        summary="The audit trail, oldest first",
        operation_id="events_list",
        parameters=[
            OpenApiParameter("since", str, description="ISO 8601: events at or after it."),
            OpenApiParameter("contact", str, description="One contact's events (its id)."),
            OpenApiParameter(
                "kind", str, enum=["", *AccessEvent.Kind.values], description="Empty: any."
            ),
        ],
    )
    def get(self, request):
        return super().get(request)


# --- Bulk actions -----------------------------------------------------------------------


class BulkActionView(SiteView):
    serializer_class = s.BulkActionSerializer

    def bulk_action(self, bulk_id: str) -> BulkAction:
        return get_object_or_404(
            BulkAction.objects.prefetch_related("undone_by"), site=self.site, pk=_pk(bulk_id)
        )

    def member(self):
        """Whom the run is done on behalf of: the member who made the key."""
        user = self.request.auth.created_by
        if user is None:
            raise Conflict(
                "The member who made this key is gone: make a new key to run bulk actions."
            )
        return user

    def started(self, bulk: BulkAction, counted) -> Response:
        bulk.refresh_from_db()
        data = s.BulkActionStartedSerializer(
            {
                "bulk_action": bulk,
                "preview": counted,
                "status_url": self.request.build_absolute_uri(f"/api/v1/bulk-actions/{bulk.pk}/"),
            },
            context={"request": self.request},
        ).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


def _selection(site, user, chosen: dict) -> dict:
    """The API's selection as a BulkAction records it, as the action bar would."""
    if "contact_ids" in chosen:
        ids = [_pk_or_refuse("contact_ids", value) for value in chosen["contact_ids"]]
        return {"ids": ids}
    if "emails" in chosen:
        text = "\n".join(chosen["emails"])
        return {"pasted": pasted_selection_create(site=site, user=user, text=text).pk}
    return {"all": True, "query": contact_filter_query(site, chosen["filters"]).urlencode()}


class BulkActionList(BulkActionView):
    scopes = {"POST": BULK}

    @extend_schema(
        summary="Start a bulk action",
        description="The contacts are resolved now and stored with the bulk action; its run "
        "acts on exactly those. Answers 202 with what the preview counted and where to follow "
        "the run.",
        request=s.BulkActionStartSerializer,
        responses={202: s.BulkActionStartedSerializer, 409: OpenApiResponse(s.ProblemSerializer)},
    )
    def post(self, request):
        data = _valid(s.BulkActionStartSerializer, request.data)
        action = registry.get(data["action"])
        if not action.in_menu:
            raise exceptions.ValidationError(
                {"action": ["Undo a bulk action with POST /api/v1/bulk-actions/{id}/undo/."]}
            )
        params = {}
        if action.form_class is not None:
            form = action.form_class(data["params"], site=self.site)
            if not form.is_valid():
                raise exceptions.ValidationError(
                    {f"params.{name}": list(errors) for name, errors in form.errors.items()}
                )
            params = form.params()
        user = self.member()
        selection = _selection(self.site, user, data["selection"])
        proposal = BulkAction(
            site=self.site, created_by=user, action=action.name, params=params, selection=selection
        )
        counted = preview(proposal)
        bulk = start_bulk_action(
            site=self.site,
            user=user,
            action=action.name,
            params=params,
            selection=selection,
            reason=data["reason"],
            expected_total=counted.selected,
            api_key=request.auth,
        )
        return self.started(bulk, counted)


class BulkActionDetail(BulkActionView):
    scopes = {"GET": READ}

    @extend_schema(summary="Follow a bulk action")
    def get(self, request, bulk_id: str):
        bulk = self.bulk_action(bulk_id)
        return Response(s.BulkActionSerializer(bulk, context={"request": request}).data)


class BulkActionUndo(BulkActionView):
    scopes = {"POST": BULK}

    @extend_schema(
        summary="Undo a bulk action",
        description="Puts back only what the bulk action changed and nobody changed since.",
        request=s.UndoSerializer,
        responses={202: s.BulkActionStartedSerializer, 409: OpenApiResponse(s.ProblemSerializer)},
    )
    def post(self, request, bulk_id: str):
        original = self.bulk_action(bulk_id)
        reason = _valid(s.UndoSerializer, request.data)["reason"]
        action = action_for(original)
        if not action.can_undo:
            raise Conflict(
                f"Bulk action #{original.pk} cannot be undone: it is still running, changed "
                "nothing, was undone already, or is of a kind that cannot be."
            )
        user = self.member()
        proposal = BulkAction(
            site=self.site,
            created_by=user,
            action=action.undo_class.name,
            params={"undo_of": original.pk},
            selection={"undo_of": original.pk},
        )
        counted = preview(proposal)
        bulk = start_undo(
            site=self.site,
            user=user,
            original=original,
            reason=reason,
            expected_total=counted.selected,
            api_key=request.auth,
        )
        return self.started(bulk, counted)
