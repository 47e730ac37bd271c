"""Settings > Team: a site's members, their roles and status, invitations, and the team's trail."""
