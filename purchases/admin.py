"""The Django admin is the support team's tool: the same services, recorded as support."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from kajaccess.actors import Actor
from purchases.access import services
from purchases.access.states import AccessState, grant_state_case, state_of
from purchases.billing import services as billing
from purchases.models import (
    AccessEvent,
    Automation,
    BulkAction,
    Grant,
    Payment,
    ProductAccess,
    Subscription,
)

ACCESS_FIELDS = [
    "status",
    "revoked_at",
    "revoked_by",
    "revoked_via",
    "revoke_reason",
]


class GrantInline(admin.TabularInline):
    model = Grant
    fk_name = "contact"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["offer", "source", "starts_at", "expires_at", "status", "revoked_via", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ProductAccessInline(admin.TabularInline):
    model = ProductAccess
    extra = 0
    can_delete = False
    fields = ["product", "access", *ACCESS_FIELDS, "removed_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Access")
    def access(self, access):
        state = state_of(access)
        return state.label if state else None


def _run(modeladmin, request, queryset, service, verb):
    changed = unchanged = 0
    for grant in queryset.select_related("contact", "offer").order_by("pk"):
        try:
            outcome = service(grant=grant, actor=Actor.support(request.user))
        except ValidationError as error:
            modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
            continue
        if outcome.changed:
            changed += 1
        else:
            unchanged += 1
    if changed:
        modeladmin.message_user(request, f"{verb} access on {changed} grant(s).", messages.SUCCESS)
    if unchanged:
        modeladmin.message_user(
            request, f"{unchanged} grant(s) needed no change.", messages.WARNING
        )


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = [
        "contact",
        "offer",
        "site",
        "source",
        "starts_at",
        "access",
        "status",
        "revoked_via",
    ]
    list_filter = ["site", "status", "revoked_via", "source"]
    search_fields = ["contact__email", "contact__name", "offer__title"]
    list_select_related = ["contact", "offer", "site"]
    actions = ["revoke_access", "restore_access"]
    inlines = [ProductAccessInline]
    show_full_result_count = False
    # Access changes only through the actions, which write the audit trail.
    readonly_fields = [
        "site",
        "contact",
        "offer",
        "source",
        "granted_by",
        "starts_at",
        "expires_at",
        *ACCESS_FIELDS,
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(access_state=grant_state_case())

    @admin.display(description="Access", ordering="access_state")
    def access(self, grant):
        return AccessState(grant.access_state).label

    @admin.action(description="Revoke access")
    def revoke_access(self, request, queryset):
        _run(self, request, queryset, services.revoke_grant, "Revoked")

    @admin.action(description="Restore access")
    def restore_access(self, request, queryset):
        _run(self, request, queryset, services.restore_access, "Restored")


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = ["amount", "currency", "status", "due_at", "at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["grant", "status", "amount", "interval", "next_billing_at", "cancel_at"]
    list_filter = ["status", "grant__site"]
    search_fields = ["grant__contact__email"]
    list_select_related = ["grant__contact", "grant__offer"]
    inlines = [PaymentInline]
    actions = ["cancel_at_period_end", "cancel_now", "stop_cancellation", "pause", "resume"]
    # Billing changes only through the actions, which write the audit trail.
    readonly_fields = [
        "grant",
        "status",
        "interval",
        "amount",
        "currency",
        "next_billing_at",
        "paused_until",
        "cancel_at",
        "canceled_at",
        "installments_total",
        "installments_paid",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _apply(self, request, queryset, service, **options):
        changed = unchanged = 0
        for subscription in queryset.order_by("pk"):
            try:
                outcome = service(
                    subscription=subscription, actor=Actor.support(request.user), **options
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                continue
            changed += outcome.changed
            unchanged += not outcome.changed
        if changed:
            self.message_user(request, f"Changed {changed} subscription(s).", messages.SUCCESS)
        if unchanged:
            self.message_user(
                request, f"{unchanged} subscription(s) needed no change.", messages.WARNING
            )

    @admin.action(description="Cancel payments at the end of the billing period")
    def cancel_at_period_end(self, request, queryset):
        self._apply(request, queryset, billing.cancel_subscription, when="period_end")

    @admin.action(description="Cancel payments now (access ends)")
    def cancel_now(self, request, queryset):
        self._apply(request, queryset, billing.cancel_subscription, when="now")

    @admin.action(description="Stop cancellation")
    def stop_cancellation(self, request, queryset):
        self._apply(request, queryset, billing.stop_cancellation)

    @admin.action(description="Pause payments indefinitely")
    def pause(self, request, queryset):
        self._apply(request, queryset, billing.pause_subscription)

    @admin.action(description="Resume payments")
    def resume(self, request, queryset):
        self._apply(request, queryset, billing.resume_subscription)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["subscription", "amount", "currency", "status", "due_at", "at"]
    list_filter = ["status"]
    search_fields = ["subscription__grant__contact__email"]
    list_select_related = ["subscription__grant__contact", "subscription__grant__offer"]
    readonly_fields = ["subscription"]


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The audit trail reads only: no add, no change, no delete."""

    list_display = ["at", "site", "contact", "kind", "actor_kind", "actor", "reason"]
    list_filter = ["site", "kind", "actor_kind"]
    search_fields = ["contact__email", "reason"]
    list_select_related = ["site", "contact", "actor"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    list_display = ["site", "trigger", "action", "offer", "active"]
    list_filter = ["site", "trigger", "active"]


@admin.register(BulkAction)
class BulkActionAdmin(admin.ModelAdmin):
    list_display = ["pk", "site", "action", "status", "total", "changed", "skipped", "created_at"]
    list_filter = ["site", "status", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
