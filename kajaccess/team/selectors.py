"""Reading a site's team: its members as Settings > Team lists them, and its trail."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from kajaccess.models import SiteMembership, TeamEvent

Role = SiteMembership.Role
ROLE_ORDER = {value: rank for rank, value in enumerate(Role.values)}


@dataclass(frozen=True)
class TeamMember:
    """One row of Settings > Team."""

    membership: SiteMembership
    # The names of the sites this person is on that the viewer is on too: another
    # creator's sites are theirs to tell.
    sites: list[str]
    status: str  # the words on the badge
    badge: str
    invitation_pending: bool

    @property
    def user(self):
        return self.membership.user

    @property
    def is_owner(self) -> bool:
        return self.membership.role == Role.OWNER

    @property
    def is_suspended(self) -> bool:
        return self.membership.status == SiteMembership.Status.SUSPENDED

    @property
    def can_become_owner(self) -> bool:
        """An administrator who has joined and is not suspended can take over the site."""
        return (
            self.membership.role == Role.ADMIN
            and not self.is_suspended
            and not self.invitation_pending
        )


def needs_invitation(user) -> bool:
    """The person has never set a password nor signed in: only an invitation lets them in."""
    return not user.has_usable_password() and user.last_login is None


def _status(membership: SiteMembership, now) -> tuple[str, str, bool]:
    pending = needs_invitation(membership.user)
    if membership.status == SiteMembership.Status.SUSPENDED:
        return "Suspended", "revoked", pending
    if pending:
        invited_at = membership.invited_at or membership.created_at
        if invited_at + timedelta(seconds=settings.TEAM_INVITATION_TIMEOUT) < now:
            return "Invitation expired", "warning", pending
        return "Invited", "info", pending
    return "Active", "active", pending


def team_members(*, site, viewer_site_ids: list[int]) -> list[TeamMember]:
    """The site's members, owner first, then by role and email; two queries, however many."""
    memberships = list(SiteMembership.objects.filter(site=site).select_related("user"))
    memberships.sort(key=lambda m: (ROLE_ORDER.get(m.role, len(ROLE_ORDER)), m.user.email))
    shared: dict[int, list[str]] = {}
    for user_id, name in (
        SiteMembership.objects.filter(
            user__in=[m.user_id for m in memberships], site__in=viewer_site_ids
        )
        .order_by("site__name")
        .values_list("user_id", "site__name")
    ):
        shared.setdefault(user_id, []).append(name)
    now = timezone.now()
    return [TeamMember(m, shared.get(m.user_id, []), *_status(m, now)) for m in memberships]


def team_events(site) -> QuerySet[TeamEvent]:
    """The site's team changes, newest first."""
    return TeamEvent.objects.filter(site=site).select_related("actor").order_by("-at", "-pk")
