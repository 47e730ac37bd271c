"""The Django admin is the support team's tool: the same services, recorded as support.

Access, billing, automations, bulk actions and the audit trail are read here and change
only through the actions, which call the services with `Actor.support(user)`. No form
edits those rows, and none is added or deleted here.
"""

from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import ngettext

from kajaccess.actors import Actor
from kajaccess.admin import SiteKeysReadOnly, SiteKeysReadOnlyInline
from purchases.access import services
from purchases.access.states import AccessState, grant_state_case, grant_state_of, state_of
from purchases.automations import services as automations
from purchases.billing import services as billing
from purchases.billing.selectors import billing_subscriptions
from purchases.forms import AccessChangeForm
from purchases.models import (
    AccessEvent,
    AccessStatus,
    Automation,
    BulkAction,
    Grant,
    Payment,
    ProductAccess,
    Subscription,
)

# A confirmation page lists every grant it changes; more than this is a bulk action's work.
MOST_GRANTS_AT_ONCE = 100


class ReadOnlyInline(SiteKeysReadOnlyInline, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChangedOnlyByServices(SiteKeysReadOnly, admin.ModelAdmin):
    """Rows that only services change: shown read-only, changed by the actions alone."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _apply(modeladmin, request, rows, change) -> tuple[int, int]:
    """Call a service on each row; returns how many changed and how many needed nothing."""
    changed = unchanged = 0
    for row in rows:
        try:
            outcome = change(row)
        except ValidationError as error:
            modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
            continue
        changed += outcome.changed
        unchanged += not outcome.changed
    return changed, unchanged


def _tell(modeladmin, request, changed: int, done: str, unchanged: int = 0, same: str = "") -> None:
    """Say how many rows changed and how many needed nothing, in words with their plural."""
    if changed:
        modeladmin.message_user(request, done % {"count": changed}, messages.SUCCESS)
    if unchanged:
        modeladmin.message_user(request, same % {"count": unchanged}, messages.WARNING)


# --- Grants: Revoke access and Restore access -------------------------------------------


class GrantInline(ReadOnlyInline):
    model = Grant
    fk_name = "contact"
    fields = ["offer", "source", "starts_at", "expires_at", "status", "revoked_via", "revoked_at"]
    readonly_fields = fields


class ProductAccessInline(ReadOnlyInline):
    model = ProductAccess
    show_change_link = False
    fields = [
        "product",
        "access",
        "status",
        "revoked_at",
        "revoked_by",
        "revoked_via",
        "revoke_reason",
        "removed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Access")
    def access(self, access):
        state = state_of(access)
        return state.label if state else None


@dataclass(frozen=True)
class GrantRow:
    """A grant on the confirmation page: where it stands, and what still bills."""

    grant: Grant
    state: str
    changes: bool
    billing: list[Subscription]


def _grant_rows(grants: list[Grant], verb: str) -> list[GrantRow]:
    now = timezone.now()
    rows = []
    for grant in grants:
        revoked = grant.status == AccessStatus.REVOKED
        # What the services will do: revoke an active grant, restore a revoked or ended one.
        changes = not revoked if verb == "revoke" else revoked or grant.has_expired(now)
        billing = billing_subscriptions(grant) if verb == "revoke" else []
        rows.append(GrantRow(grant, grant_state_of(grant, now).label, changes, billing))
    return rows


def _confirm_access_change(modeladmin, request, grants: list[Grant], verb: str, form, status):
    count = len(grants)
    if verb == "revoke":
        title = ngettext(
            "Revoke access to %(count)d grant?", "Revoke access to %(count)d grants?", count
        )
    else:
        title = ngettext(
            "Restore access to %(count)d grant?", "Restore access to %(count)d grants?", count
        )
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title % {"count": count},
        "verb": verb,
        "rows": _grant_rows(grants, verb),
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request, "admin/purchases/grant/access_confirmation.html", context, status=status
    )


def _change_access(modeladmin, request, queryset, verb: str):
    """The confirmation page first; once confirmed, the dashboard's service for each grant."""
    if queryset.count() > MOST_GRANTS_AT_ONCE:
        modeladmin.message_user(
            request,
            f"Select at most {MOST_GRANTS_AT_ONCE} grants at a time: each one is listed "
            "before anything changes. The Contacts tab's bulk actions change more at once.",
            messages.ERROR,
        )
        return None
    grants = list(
        queryset.select_related("site", "contact", "offer", "subscription")
        .prefetch_related("product_accesses")
        .order_by("pk")
    )
    confirmed = request.POST.get("confirm") == "yes"
    form = AccessChangeForm(request.POST if confirmed else None)
    if not (confirmed and form.is_valid()):
        return _confirm_access_change(
            modeladmin, request, grants, verb, form, status=400 if confirmed else 200
        )
    actor, reason = Actor.support(request.user), form.cleaned_data["reason"]
    service = services.revoke_grant if verb == "revoke" else services.restore_access
    changed, unchanged = _apply(
        modeladmin, request, grants, lambda g: service(grant=g, actor=actor, reason=reason)
    )
    if verb == "revoke":
        done = ngettext(
            "Revoked access to %(count)d grant.", "Revoked access to %(count)d grants.", changed
        )
    else:
        done = ngettext(
            "Restored access to %(count)d grant.", "Restored access to %(count)d grants.", changed
        )
    same = ngettext(
        "%(count)d grant needed no change.", "%(count)d grants needed no change.", unchanged
    )
    _tell(modeladmin, request, changed, done, unchanged, same)
    return None


@admin.register(Grant)
class GrantAdmin(ChangedOnlyByServices):
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

    def has_change_access_permission(self, request):
        return request.user.has_perm("purchases.change_grant")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(access_state=grant_state_case())

    @admin.display(description="Access", ordering="access_state")
    def access(self, grant):
        return AccessState(grant.access_state).label

    @admin.action(description="Revoke access", permissions=["change_access"])
    def revoke_access(self, request, queryset):
        return _change_access(self, request, queryset, "revoke")

    @admin.action(description="Restore access", permissions=["change_access"])
    def restore_access(self, request, queryset):
        return _change_access(self, request, queryset, "restore")


# --- Subscriptions and payments ----------------------------------------------------------


class PaymentInline(ReadOnlyInline):
    model = Payment
    show_change_link = False
    fields = ["amount", "currency", "status", "due_at", "at"]
    readonly_fields = fields


@admin.register(Subscription)
class SubscriptionAdmin(ChangedOnlyByServices):
    list_display = ["grant", "status", "amount", "interval", "next_billing_at", "cancel_at"]
    list_filter = ["status", "grant__site"]
    search_fields = ["grant__contact__email"]
    list_select_related = ["grant__contact", "grant__offer"]
    inlines = [PaymentInline]
    actions = ["cancel_at_period_end", "cancel_now", "stop_cancellation", "pause", "resume"]

    def has_change_billing_permission(self, request):
        return request.user.has_perm("purchases.change_subscription")

    def _apply(self, request, queryset, service, **options):
        actor = Actor.support(request.user)
        changed, unchanged = _apply(
            self,
            request,
            queryset.order_by("pk"),
            lambda s: service(subscription=s, actor=actor, **options),
        )
        done = ngettext(
            "Changed %(count)d subscription.", "Changed %(count)d subscriptions.", changed
        )
        same = ngettext(
            "%(count)d subscription needed no change.",
            "%(count)d subscriptions needed no change.",
            unchanged,
        )
        _tell(self, request, changed, done, unchanged, same)

    @admin.action(
        description="Cancel payments at the end of the billing period",
        permissions=["change_billing"],
    )
    def cancel_at_period_end(self, request, queryset):
        self._apply(request, queryset, billing.cancel_subscription, when="period_end")

    @admin.action(description="Cancel payments now (access ends)", permissions=["change_billing"])
    def cancel_now(self, request, queryset):
        self._apply(request, queryset, billing.cancel_subscription, when="now")

    @admin.action(description="Stop cancellation", permissions=["change_billing"])
    def stop_cancellation(self, request, queryset):
        self._apply(request, queryset, billing.stop_cancellation)

    @admin.action(description="Pause payments indefinitely", permissions=["change_billing"])
    def pause(self, request, queryset):
        self._apply(request, queryset, billing.pause_subscription)

    @admin.action(description="Resume payments", permissions=["change_billing"])
    def resume(self, request, queryset):
        self._apply(request, queryset, billing.resume_subscription)


@admin.register(Payment)
class PaymentAdmin(ChangedOnlyByServices):
    """A payment is what the gateway answered: it is never edited, added or deleted."""

    list_display = ["subscription", "amount", "currency", "status", "due_at", "at"]
    list_filter = ["status"]
    search_fields = ["subscription__grant__contact__email"]
    list_select_related = ["subscription__grant__contact", "subscription__grant__offer"]


# --- The audit trail, automations and bulk actions ---------------------------------------


@admin.register(AccessEvent)
class AccessEventAdmin(ChangedOnlyByServices):
    """The audit trail reads only: no add, no change, no delete."""

    list_display = ["at", "site", "contact", "kind", "actor_kind", "actor", "reason"]
    list_filter = ["site", "kind", "actor_kind"]
    search_fields = ["contact__email", "reason"]
    list_select_related = ["site", "contact", "actor"]
    date_hierarchy = "at"


@admin.register(Automation)
class AutomationAdmin(ChangedOnlyByServices):
    """Automations are created by their site's team; support pauses, resumes or deletes."""

    list_display = ["__str__", "site", "trigger", "action", "offer", "active"]
    list_filter = ["site", "trigger", "active"]
    list_select_related = ["site", "offer", "trigger_offer", "trigger_tag"]
    actions = ["pause", "resume", "delete_automations"]

    def has_switch_permission(self, request):
        return request.user.has_perm("purchases.change_automation")

    def has_remove_permission(self, request):
        return request.user.has_perm("purchases.delete_automation")

    def _switch(self, request, queryset, active: bool):
        changed, unchanged = _apply(
            self,
            request,
            queryset.order_by("pk"),
            lambda a: automations.set_automation_active(automation=a, active=active),
        )
        if active:
            done = ngettext(
                "Resumed %(count)d automation.", "Resumed %(count)d automations.", changed
            )
        else:
            done = ngettext(
                "Paused %(count)d automation.", "Paused %(count)d automations.", changed
            )
        same = ngettext(
            "%(count)d automation needed no change.",
            "%(count)d automations needed no change.",
            unchanged,
        )
        _tell(self, request, changed, done, unchanged, same)

    @admin.action(description="Pause", permissions=["switch"])
    def pause(self, request, queryset):
        self._switch(request, queryset, active=False)

    @admin.action(description="Resume", permissions=["switch"])
    def resume(self, request, queryset):
        self._switch(request, queryset, active=True)

    @admin.action(description="Delete (what it granted or revoked stays)", permissions=["remove"])
    def delete_automations(self, request, queryset):
        changed, _ = _apply(
            self,
            request,
            list(queryset.select_related("offer", "trigger_offer", "trigger_tag").order_by("pk")),
            lambda a: automations.delete_automation(automation=a),
        )
        done = ngettext("Deleted %(count)d automation.", "Deleted %(count)d automations.", changed)
        _tell(self, request, changed, done)


@admin.register(BulkAction)
class BulkActionAdmin(ChangedOnlyByServices):
    list_display = ["pk", "site", "action", "status", "total", "changed", "skipped", "created_at"]
    list_filter = ["site", "status", "action"]
    list_select_related = ["site"]
