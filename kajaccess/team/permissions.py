"""Who may manage a site's team: its owner and administrators.

`can_manage_team` is the one place that says so, so that it can become a named
permission checked through `has_perm` without any view changing.
"""

from functools import wraps

from django.shortcuts import render

from kajaccess.models import SiteMembership
from kajaccess.web import member_required

MANAGER_ROLES = (SiteMembership.Role.OWNER, SiteMembership.Role.ADMIN)


def can_manage_team(request) -> bool:
    """The signed-in member is the owner or an administrator of the current site."""
    return request.membership is not None and request.membership.role in MANAGER_ROLES


def team_managers_only(view):
    """Members of the site only (others get a 404), and of them owners and administrators."""

    @member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_manage_team(request):
            return render(request, "team/denied.html", {"active_tab": "settings"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper
