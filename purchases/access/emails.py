"""The email telling a customer about an Offer granted to them."""

import logging

from django.contrib import messages
from django.core.mail import BadHeaderError, send_mail
from django.template.loader import render_to_string

from kajaccess.outcomes import Outcome
from purchases.models import Grant

logger = logging.getLogger(__name__)


class GrantEmail:
    """The email telling a customer about an Offer granted to them.

    It is sent once the grant is committed. Failing to send it leaves the grant as it
    is: the failure is logged and said next to the grant's message, never as an error.
    """

    def __init__(self, grant: Grant, library_url: str):
        self.grant = grant
        self.library_url = library_url
        self.failure = ""

    def send(self) -> None:
        grant = self.grant
        context = {"grant": grant, "contact": grant.contact, "library_url": self.library_url}
        # An email header is one line, whatever the title was saved with.
        subject = " ".join(f"You now have access to {grant.offer.title}".split())
        try:
            send_mail(
                subject=subject,
                message=render_to_string("purchases/email/offer_granted.txt", context),
                from_email=None,
                recipient_list=[grant.contact.email],
            )
        except (BadHeaderError, OSError) as error:  # smtplib's errors are OSErrors
            logger.warning("Email for grant %s not sent", grant.pk, exc_info=True)
            self.failure = (
                f"“{grant.contact.email}” is not an address an email can go to."
                if isinstance(error, BadHeaderError)
                else "the mail server did not accept it."
            )

    def told(self, outcome: Outcome) -> tuple[Outcome, int]:
        """The grant's message with what became of the email, and its level."""
        if self.failure:
            text = f"{outcome.message} The email could not be sent: {self.failure}"
            return Outcome(outcome.obj, True, text), messages.WARNING
        text = f"{outcome.message} An email is on its way to them."
        return Outcome(outcome.obj, True, text), messages.SUCCESS
