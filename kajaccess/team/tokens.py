"""The one-time link of an invitation to a site's team."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Like a password reset link, signed apart from one, and valid for TEAM_INVITATION_TIMEOUT.

    The token is made from the user's password hash and last sign-in, so setting the
    password or signing in spends it: it works once.
    """

    key_salt = "kajaccess.team.tokens.InvitationTokenGenerator"

    def check_token(self, user, token):
        # Django's own check compares the age with PASSWORD_RESET_TIMEOUT; an invitation
        # keeps its own limit, so the signature and the age are checked here.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return self._num_seconds(self._now()) - ts <= settings.TEAM_INVITATION_TIMEOUT


invitation_tokens = InvitationTokenGenerator()
