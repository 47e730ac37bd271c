from django.conf import settings
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey

from kajaccess.actors import ActorKind


class Site(models.Model):
    """A creator's business: everything a creator sells and every customer belongs to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Since when a webhook endpoint of the site has been switched off after a day of
    # failures: kept on the site, which every page has already loaded, so the dashboard
    # tells its managers at no cost to any page.
    webhooks_switched_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SiteMembership(models.Model):
    """A member of a site's team; their role decides what they may do (kajaccess.roles)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Administrator"
        ASSISTANT = "assistant", "Assistant"
        SUPPORT = "support", "Support specialist"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        # A suspended member keeps their membership, and their name on what they did,
        # but cannot open the site until they are reactivated.
        SUSPENDED = "suspended", "Suspended"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ASSISTANT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # When the latest invitation to set a password was sent; None for members who
    # already had an account when they were added.
    invited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="unique_membership"),
            models.UniqueConstraint(
                fields=["site"], condition=models.Q(role="owner"), name="one_owner_per_site"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]),
                name="membership_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.site}"


class TeamEvent(models.Model):
    """The audit trail of a site's team: one row for every change of it. Append-only.

    `member_email` keeps who the change was about after their account is gone.
    """

    class Kind(models.TextChoices):
        ADDED = "added", "Member added"
        INVITED = "invited", "Member invited"
        INVITATION_SENT = "invitation_sent", "Invitation sent again"
        ROLE_CHANGED = "role_changed", "Role changed"
        SUSPENDED = "suspended", "Member suspended"
        REACTIVATED = "reactivated", "Member reactivated"
        REMOVED = "removed", "Member removed"
        OWNERSHIP_TRANSFERRED = "ownership_transferred", "Ownership transferred"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="team_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    member_email = models.EmailField()
    kind = models.CharField(max_length=40, choices=Kind.choices)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["site", "-at"], name="team_event_site_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.member_email}"

    @property
    def change(self) -> str:
        """The change in words, such as "Assistant → Admin"; empty where the kind says it all."""
        roles = dict(SiteMembership.Role.choices)
        if self.kind == self.Kind.ROLE_CHANGED:
            old, new = self.details.get("from", ""), self.details.get("to", "")
            return f"{roles.get(old, old)} → {roles.get(new, new)}"
        if self.kind in (self.Kind.ADDED, self.Kind.INVITED):
            role = self.details.get("role", "")
            return f"as {roles.get(role, role)}"
        if self.kind == self.Kind.OWNERSHIP_TRANSFERRED:
            return f"from {self.details.get('from_owner', '')}"
        return ""


class ApiKey(AbstractAPIKey):
    """A key an integration uses to call the API for one site, with the scopes it may use.

    The key itself is shown once and stored hashed (djangorestframework-api-key); the
    prefix identifies it on screens. Keys are never deleted: revoked, or replaced by a
    rotation that leaves the old one valid for a day.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read contacts, access, offers, products and events"
        ACCESS = "access", "Grant, revoke and restore access"
        CONTACTS = "contacts", "Create and edit contacts and tags"
        BULK = "bulk", "Run bulk actions"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created"]
        indexes = [models.Index(fields=["site", "-created"], name="api_key_site_created")]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def label(self) -> str:
        """How a change made with the key is signed: "Chargebacks (API)"."""
        return f"{self.name} (API)"

    def scope_labels(self) -> list[str]:
        return [label for value, label in self.Scope.choices if value in self.scopes]
