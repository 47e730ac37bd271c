"""What each member of a site's team may do: one named permission per capability.

A member's role (SiteMembership.role) decides it. Every permission is a `rules`
permission checked through Django's `has_perm`, with the member's SiteMembership as the
object, so a check reads the role already loaded with the request and runs no query:

    request.user.has_perm("kajaccess.cancel_payments", request.membership)

Views check it with kajaccess.web.permission_required, templates through `can`
(`{% if can.cancel_payments %}`), bulk actions through the permission each action
class names.
"""

from dataclasses import dataclass
from functools import reduce
from operator import or_

import rules

from kajaccess.models import SiteMembership

Role = SiteMembership.Role


def _holds_role(role: str) -> rules.Predicate:
    def check(user, membership) -> bool:
        # Only the member's own membership counts: never someone else's, nor another object.
        return (
            isinstance(membership, SiteMembership)
            and membership.user_id == getattr(user, "pk", None)
            and membership.role == role
        )

    return rules.predicate(check, name=f"is_{role}")


is_owner = _holds_role(Role.OWNER)
is_admin = _holds_role(Role.ADMIN)
is_assistant = _holds_role(Role.ASSISTANT)
is_support = _holds_role(Role.SUPPORT)
ROLE_PREDICATES = {
    Role.OWNER: is_owner,
    Role.ADMIN: is_admin,
    Role.ASSISTANT: is_assistant,
    Role.SUPPORT: is_support,
}


@dataclass(frozen=True)
class Capability:
    codename: str
    # Finishes "Your role, Assistant, cannot ...".
    action: str
    roles: frozenset[str]

    @property
    def name(self) -> str:
        return f"kajaccess.{self.codename}"

    @property
    def predicate(self) -> rules.Predicate:
        return reduce(or_, (ROLE_PREDICATES[role] for role in Role.values if role in self.roles))


EVERYONE = frozenset(Role.values)
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
EDITORS = frozenset({Role.OWNER, Role.ADMIN, Role.ASSISTANT})

CAPABILITIES = (
    # Contacts tab, preview, profile, Activity.
    Capability("view_contacts", "open contacts", EVERYONE),
    # Revoke, restore and grant one contact's access; add and remove tags.
    Capability("change_access", "change a contact's access", EVERYONE),
    Capability("tag_contacts", "tag contacts", EVERYONE),
    # Add a contact; change a contact's name and email.
    Capability("edit_contacts", "add or edit contacts", EVERYONE),
    # Bulk actions and Undo.
    Capability("run_bulk_actions", "run bulk actions", EDITORS),
    Capability("export_contacts", "export contacts", MANAGERS),
    # Amounts, payments and billing status.
    Capability("view_billing", "see payments", MANAGERS),
    Capability("cancel_payments", "cancel payments", MANAGERS),
    Capability("pause_payments", "pause or resume payments", MANAGERS),
    # Offers: create, edit their products and access days.
    Capability("edit_offers", "edit offers", EDITORS),
    # Offers: price and payment type; delete and restore.
    Capability("price_offers", "set the price of an offer", MANAGERS),
    Capability("delete_offers", "delete or restore offers", MANAGERS),
    # Products tab and Product Progress report.
    Capability("view_products", "open the Products tab", MANAGERS),
    Capability("manage_automations", "manage automations", MANAGERS),
    # Team and site settings, and API keys; an administrator cannot change the owner.
    Capability("manage_team", "manage the team", MANAGERS),
    Capability("manage_site", "change the site's settings", MANAGERS),
    Capability("manage_api_keys", "manage API keys", MANAGERS),
    Capability("manage_webhooks", "manage webhooks", MANAGERS),
    Capability("change_owner", "change or remove the site's owner", frozenset({Role.OWNER})),
)
CAPABILITY = {capability.name: capability for capability in CAPABILITIES}

for _capability in CAPABILITIES:
    rules.add_perm(_capability.name, _capability.predicate)


def refusal(membership: SiteMembership | None, permission: str) -> str:
    """The 403's words: what the member's role cannot do, and whom to ask instead."""
    capability = CAPABILITY[permission]
    role = membership.get_role_display() if membership is not None else "none"
    ask = "the site's owner"
    if Role.ADMIN in capability.roles:
        ask += " or an administrator"
    return f"Your role, {role}, cannot {capability.action}. Ask {ask}."


class MemberPermissions:
    """What one member may do, by codename: `can.cancel_payments` in templates.

    Each answer is asked of `has_perm` once and kept, so a page asks each question once
    however often it draws the control.
    """

    def __init__(self, user, membership: SiteMembership | None):
        self.user = user
        self.membership = membership
        self._answers: dict[str, bool] = {}

    def __getitem__(self, codename: str) -> bool:
        if codename not in self._answers:
            name = f"kajaccess.{codename}"
            if name not in CAPABILITY:
                raise KeyError(codename)
            # Without a membership there is no role, so nothing to ask.
            allowed = self.membership is not None and self.user.has_perm(name, self.membership)
            self._answers[codename] = bool(allowed)
        return self._answers[codename]


def member_role(*, user, site) -> str:
    """The role `user` holds in `site` now, or "" once they are no longer a member."""
    if user is None:
        return ""
    role = SiteMembership.objects.filter(user=user, site=site).values_list("role", flat=True)
    return role.first() or ""
