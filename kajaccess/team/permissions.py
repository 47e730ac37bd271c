"""Who may manage a site's team: the roles holding `kajaccess.manage_team` (kajaccess.roles)."""

from django.shortcuts import get_object_or_404

from kajaccess.models import SiteMembership
from kajaccess.web import permission_required


def can_manage_team(request) -> bool:
    """The signed-in member's role may manage the current site's team."""
    return request.membership is not None and request.user.has_perm(
        "kajaccess.manage_team", request.membership
    )


def _member_of_this_site(request, member_id: int | None = None, **kwargs) -> None:
    # Another site's member stays a 404 for a role that is refused, as everywhere.
    if member_id is not None:
        get_object_or_404(SiteMembership, site=request.site, pk=member_id)


team_managers_only = permission_required("kajaccess.manage_team", lookup=_member_of_this_site)
# Only the owner hands the site over; an administrator may not change the owner.
owner_only = permission_required("kajaccess.change_owner", lookup=_member_of_this_site)
