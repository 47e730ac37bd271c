"""The emails a new member gets: an invitation to set their password, or a notice that
they are on a team; and a customer's invitation to sign in to their Library."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.timesince import timeuntil

from kajaccess.team.tokens import invitation_tokens


def invitation_url(user, site_url: str) -> str:
    """The one-time link that lets `user` set their password and sign in."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_tokens.make_token(user)
    return site_url.rstrip("/") + reverse("accept_invitation", args=[uid, token])


def _inviter_name(inviter) -> str:
    if inviter is None:
        return "The team"
    return inviter.get_full_name() or inviter.email


def send_invitation(*, membership, inviter, site_url: str) -> None:
    user, site = membership.user, membership.site
    now = timezone.now()
    context = {
        "site": site,
        "inviter": _inviter_name(inviter),
        "role": membership.get_role_display(),
        "link": invitation_url(user, site_url),
        "valid_for": timeuntil(now + timedelta(seconds=settings.TEAM_INVITATION_TIMEOUT), now),
    }
    send_mail(
        subject=f"{context['inviter']} invited you to the team of {site.name}",
        message=render_to_string("team/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def send_added_notice(*, membership, inviter, site_url: str) -> None:
    site = membership.site
    context = {
        "site": site,
        "inviter": _inviter_name(inviter),
        "role": membership.get_role_display(),
        "sign_in_url": site_url.rstrip("/") + reverse("login"),
    }
    send_mail(
        subject=f"You are now on the team of {site.name}",
        message=render_to_string("team/email/added.txt", context),
        from_email=None,
        recipient_list=[membership.user.email],
    )


def send_library_invitation(*, contact, inviter, site_url: str) -> None:
    """The link that lets a customer set a password and open their Library."""
    now = timezone.now()
    site = contact.site
    context = {
        "site": site,
        "inviter": _inviter_name(inviter),
        "link": invitation_url(contact.user, site_url),
        "valid_for": timeuntil(now + timedelta(seconds=settings.TEAM_INVITATION_TIMEOUT), now),
    }
    send_mail(
        subject=f"Your Library at {site.name}",
        message=render_to_string("contacts/email/library_invitation.txt", context),
        from_email=None,
        recipient_list=[contact.user.email],
    )
