"""Changing a site's team: add, invite, change a role, suspend, reactivate, remove, and
transfer ownership.

Every service locks the site's row first and then the memberships it changes, in
primary-key order, so that two changes of one team never interleave (a site keeps
exactly one owner), and writes a TeamEvent in the same transaction.
"""

import secrets
from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kajaccess.actors import Actor
from kajaccess.models import Site, SiteMembership, TeamEvent
from kajaccess.outcomes import Outcome
from kajaccess.team import invitations
from kajaccess.team.selectors import needs_invitation

Role = SiteMembership.Role
Status = SiteMembership.Status
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 150


def assignable_roles() -> list[tuple[str, str]]:
    """The roles a member can be given; the owner's is reached only by a transfer."""
    return [(value, label) for value, label in Role.choices if value != Role.OWNER]


def _role_label(role: str) -> str:
    return dict(Role.choices)[role]


def _validate_role(role: str) -> None:
    if role not in dict(assignable_roles()):
        names = ", ".join(label for _, label in assignable_roles())
        raise ValidationError(f"Choose one of the roles: {names}.", code="role")


def _lock_site(site: Site) -> Site:
    return Site.objects.select_for_update().get(pk=site.pk)


def _lock_membership(membership: SiteMembership) -> SiteMembership:
    locked = (
        SiteMembership.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .filter(pk=membership.pk, site_id=membership.site_id)
        .first()
    )
    if locked is None:
        raise ValidationError("That member is no longer on the team.", code="gone")
    return locked


def _refuse_on_owner_or_self(
    membership: SiteMembership, actor: Actor, *, verb: str, done: str
) -> None:
    if membership.role == Role.OWNER:
        raise ValidationError(
            f"The owner cannot be {done}. The owner can transfer ownership to an "
            "administrator first.",
            code="owner",
        )
    if membership.user_id == actor.user_id:
        raise ValidationError(f"You cannot {verb} yourself.", code="self")


def _record(
    *, site: Site, actor: Actor, member, kind: str, details: dict | None = None
) -> TeamEvent:
    return TeamEvent.objects.create(
        site=site,
        actor=actor.user,
        actor_kind=actor.kind,
        member=member,
        member_email=member.email,
        kind=kind,
        details=details or {},
    )


def user_for_email(email: str, name: str):
    """The account with this email in any letter case, as sign-in finds it, or a new one."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    if user is not None:
        return user
    username = email.lower() if len(email) <= 150 else f"member-{secrets.token_hex(8)}"
    user = User(username=username, email=email, first_name=name[:NAME_MAX_LENGTH])
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Someone else made the account at the same moment (or took the username).
        user = User.objects.filter(email__iexact=email).order_by("pk").first()
        if user is None:
            user = User(username=f"member-{secrets.token_hex(8)}", email=email)
            user.first_name = name[:NAME_MAX_LENGTH]
            user.set_unusable_password()
            user.save()
    return user


def _clean_email(email: str) -> str:
    email = get_user_model().objects.normalize_email((email or "").strip())
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            f"An email address has at most {EMAIL_MAX_LENGTH} characters.", code="email"
        )
    validate_email(email)
    return email


def add_member(
    *, site: Site, email: str, role: str, actor: Actor, site_url: str, name: str = ""
) -> Outcome:
    """Puts the person with this email on the site's team with this role.

    Someone who already has an account is added and told by email. Anyone else gets an
    account without a password and an invitation: a link to set their password, which
    works once and expires after TEAM_INVITATION_TIMEOUT. The email goes after commit.
    Someone already on the team, even suspended, is left as they are.
    """
    email = _clean_email(email)
    _validate_role(role)
    with transaction.atomic():
        site = _lock_site(site)
        user = user_for_email(email, name.strip())
        existing = SiteMembership.objects.filter(site=site, user=user).first()
        if existing is not None:
            said = " (suspended)" if existing.status == Status.SUSPENDED else ""
            return Outcome(existing, False, f"{user.email} is already on the team{said}.")
        invite = needs_invitation(user)
        membership = SiteMembership.objects.create(
            site=site, user=user, role=role, invited_at=timezone.now() if invite else None
        )
        _record(
            site=site,
            actor=actor,
            member=user,
            kind=TeamEvent.Kind.INVITED if invite else TeamEvent.Kind.ADDED,
            details={"role": role},
        )
        send = invitations.send_invitation if invite else invitations.send_added_notice
        transaction.on_commit(
            partial(send, membership=membership, inviter=actor.user, site_url=site_url)
        )
    if invite:
        return Outcome(membership, True, f"Invitation sent to {user.email}.")
    return Outcome(membership, True, f"{user.email} is now on the team.")


def resend_invitation(*, membership: SiteMembership, actor: Actor, site_url: str) -> Outcome:
    """Sends a fresh invitation link to a member who has not set a password yet."""
    with transaction.atomic():
        _lock_site(membership.site)
        membership = _lock_membership(membership)
        if not needs_invitation(membership.user):
            return Outcome(
                membership, False, f"{membership.user.email} has already joined: no invitation."
            )
        membership.invited_at = timezone.now()
        membership.save(update_fields=["invited_at"])
        _record(
            site=membership.site,
            actor=actor,
            member=membership.user,
            kind=TeamEvent.Kind.INVITATION_SENT,
        )
        transaction.on_commit(
            partial(
                invitations.send_invitation,
                membership=membership,
                inviter=actor.user,
                site_url=site_url,
            )
        )
    return Outcome(membership, True, f"A new invitation is on its way to {membership.user.email}.")


def change_role(*, membership: SiteMembership, role: str, actor: Actor) -> Outcome:
    """Gives a member another role. The owner's role changes only by a transfer."""
    _validate_role(role)
    with transaction.atomic():
        _lock_site(membership.site)
        membership = _lock_membership(membership)
        if membership.role == Role.OWNER:
            raise ValidationError(
                "The owner's role changes only when the owner transfers ownership to an "
                "administrator.",
                code="owner",
            )
        if membership.user_id == actor.user_id:
            raise ValidationError("You cannot change your own role.", code="self")
        email = membership.user.email
        if membership.role == role:
            return Outcome(membership, False, f"{email}'s role is already {_role_label(role)}.")
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _record(
            site=membership.site,
            actor=actor,
            member=membership.user,
            kind=TeamEvent.Kind.ROLE_CHANGED,
            details={"from": old, "to": role},
        )
    return Outcome(membership, True, f"{email}'s role is now {_role_label(role)}.")


def _set_status(*, membership: SiteMembership, status: str, actor: Actor) -> Outcome:
    suspend = status == Status.SUSPENDED
    with transaction.atomic():
        _lock_site(membership.site)
        membership = _lock_membership(membership)
        if suspend:
            _refuse_on_owner_or_self(membership, actor, verb="suspend", done="suspended")
        email, site_name = membership.user.email, membership.site.name
        if membership.status == status:
            said = "already suspended" if suspend else "already active"
            return Outcome(membership, False, f"{email} is {said}.")
        membership.status = status
        membership.save(update_fields=["status"])
        _record(
            site=membership.site,
            actor=actor,
            member=membership.user,
            kind=TeamEvent.Kind.SUSPENDED if suspend else TeamEvent.Kind.REACTIVATED,
        )
    if suspend:
        message = f"{email} is suspended: they cannot open {site_name} until reactivated."
    else:
        message = f"{email} is reactivated and can open {site_name} again."
    return Outcome(membership, True, message)


def suspend_member(*, membership: SiteMembership, actor: Actor) -> Outcome:
    """Shuts a member out of the site, keeping their membership and their name on what they did."""
    return _set_status(membership=membership, status=Status.SUSPENDED, actor=actor)


def reactivate_member(*, membership: SiteMembership, actor: Actor) -> Outcome:
    """Lets a suspended member open the site again, with the role they had."""
    return _set_status(membership=membership, status=Status.ACTIVE, actor=actor)


def remove_member(*, membership: SiteMembership, actor: Actor) -> Outcome:
    """Takes a member off the team. Their account stays, and so does their name on what they did."""
    with transaction.atomic():
        _lock_site(membership.site)
        locked = (
            SiteMembership.objects.select_for_update(of=("self",))
            .select_related("user", "site")
            .filter(pk=membership.pk)
            .first()
        )
        if locked is None:
            return Outcome(membership, False, "That member is no longer on the team.")
        _refuse_on_owner_or_self(locked, actor, verb="remove", done="removed")
        _record(
            site=locked.site,
            actor=actor,
            member=locked.user,
            kind=TeamEvent.Kind.REMOVED,
            details={"role": locked.role, "status": locked.status},
        )
        locked.delete()
    return Outcome(membership, True, f"{locked.user.email} is no longer on the team.")


def transfer_ownership(*, membership: SiteMembership, actor: Actor, password: str) -> Outcome:
    """Makes an active administrator the owner; the owner becomes an administrator.

    Only the owner can, and only with their password: a wrong one changes nothing.
    """
    with transaction.atomic():
        site = _lock_site(membership.site)
        locked = list(
            SiteMembership.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(site=site)
            .filter(Q(pk=membership.pk) | Q(role=Role.OWNER))
            .order_by("pk")
        )
        target = next((m for m in locked if m.pk == membership.pk), None)
        if target is None:
            raise ValidationError("That member is no longer on the team.", code="gone")
        if target.role == Role.OWNER:
            return Outcome(target, False, f"{target.user.email} is already the owner.")
        owner = next((m for m in locked if m.role == Role.OWNER), None)
        if owner is None or owner.user_id != actor.user_id:
            raise ValidationError("Only the owner can transfer ownership.", code="not_owner")
        if not actor.user.check_password(password or ""):
            raise ValidationError(
                {"password": "That is not your password. Nothing was changed."}, code="password"
            )
        if target.role != Role.ADMIN or target.status != Status.ACTIVE:
            raise ValidationError(
                f"Ownership goes to an active administrator: give {target.user.email} the "
                f"{_role_label(Role.ADMIN)} role first.",
                code="not_admin",
            )
        # The old owner steps down first: a site never has two owners, not even for a moment.
        owner.role = Role.ADMIN
        owner.save(update_fields=["role"])
        target.role = Role.OWNER
        target.save(update_fields=["role"])
        _record(
            site=site,
            actor=actor,
            member=target.user,
            kind=TeamEvent.Kind.OWNERSHIP_TRANSFERRED,
            details={"from_owner": owner.user.email},
        )
    return Outcome(
        target,
        True,
        f"{target.user.email} is now the owner of {site.name}, and you are an administrator.",
    )
