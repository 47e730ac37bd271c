"""Reads over a site's contacts that the Contacts tab and its paging share."""

from contacts.models import Contact, ContactCount
from kajaccess.models import Site


def contacts_count(site: Site) -> int:
    """How many contacts the site has, exactly, without counting them.

    Read from the site's ContactCount, which the services that add contacts keep; a
    site that has none yet (no contact added through them) has its contacts counted.
    """
    kept = ContactCount.objects.filter(site=site).values_list("contacts", flat=True).first()
    if kept is not None:
        return kept
    return Contact.objects.filter(site=site).count()
