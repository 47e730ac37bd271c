"""Which contacts a bulk action acts on, and what it will do to them before it starts."""

from django.db.models import Exists, OuterRef, QuerySet

from contacts.bulk.actions import NOT_IN_SITE, Preview, action_for
from contacts.bulk.pasted import pasted_selection_for
from contacts.filters import contacts_matching
from contacts.models import Contact, PastedSelection
from kajaccess.models import Site
from purchases.models import AccessEvent, BulkAction


def selected_contacts(site: Site, selection: dict, *, user=None) -> QuerySet:
    """The contacts of `site` a selection names, as they are now.

    Read for the preview and once more when the creator confirms, when they are stored
    with the bulk action; its run never reads the selection again. Ids of another site
    are never in it: they are ignored (and counted as skipped). Raises ValidationError
    for "all matching" filters that do not validate, and for a pasted list of emails
    that `user` did not paste on `site`. A pasted list with a `query` is the part of it
    that the search and filters match.
    """
    contacts = Contact.objects.filter(site=site)
    if "pasted" in selection:
        pasted = pasted_selection_for(site=site, user=user, pasted_id=selection["pasted"])
        links = PastedSelection.contacts.through.objects.filter(pastedselection_id=pasted.pk)
        if selection.get("query"):
            contacts = contacts_matching(site, selection["query"])
        return contacts.filter(Exists(links.filter(contact_id=OuterRef("pk"))))
    if selection.get("all"):
        return contacts_matching(site, selection.get("query", ""))
    if "undo_of" in selection:
        # Led by the bulk action's audit rows, read once through their index: a correlated
        # EXISTS lets the planner walk every one of them again for each contact of the site.
        changed = AccessEvent.objects.filter(
            bulk_action_id=selection["undo_of"], grant__isnull=False
        ).values("contact_id")
        return contacts.filter(pk__in=changed)
    return contacts.filter(pk__in=selection.get("ids", []))


def outside_site(site: Site, selection: dict, *, user=None) -> int:
    """How many checked ids are not contacts of this site.

    For a pasted list of emails: how many of the contacts it matched were deleted since
    (none, when searched within: a deleted contact matches no search).
    """
    if "pasted" in selection:
        if selection.get("query"):
            return 0
        pasted = pasted_selection_for(site=site, user=user, pasted_id=selection["pasted"])
        return pasted.matched - pasted.contacts.count()
    ids = set(selection.get("ids", []))
    if not ids:
        return 0
    return len(ids) - Contact.objects.filter(site=site, pk__in=ids).count()


def preview(bulk: BulkAction) -> Preview:
    """Count, before anything changes, what a bulk action will change and skip, and why.

    A fixed handful of queries whatever the selection's size: the ids of another site,
    the action's parameters, and one aggregate over the selection.
    """
    user = bulk.created_by
    result = action_for(bulk).count(selected_contacts(bulk.site, bulk.selection, user=user))
    outside = outside_site(bulk.site, bulk.selection, user=user)
    if outside:
        result.selected += outside
        result.skipped[NOT_IN_SITE] = outside
    return result
