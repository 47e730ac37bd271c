"""What the header needs on every page: whether to offer Settings."""

from kajaccess.team.permissions import can_manage_team


def team(request) -> dict:
    return {
        "can_manage_team": can_manage_team(request) if hasattr(request, "membership") else False
    }
