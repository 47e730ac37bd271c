"""The Bulk actions tab: a site's bulk actions as the history and each one's page show them."""

from dataclasses import dataclass
from functools import cached_property

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import ngettext

from contacts.bulk import recovery
from contacts.bulk.actions import BulkActionType, OfferAction, action_for
from kajaccess.models import Site
from products.models import Offer
from purchases.models import BulkAction


def site_bulk_actions(site: Site) -> QuerySet:
    """A site's bulk actions, newest first, ready for `entries_for`."""
    return (
        BulkAction.objects.filter(site=site)
        .select_related("site", "created_by", "api_key", "undo_of")
        .prefetch_related("undone_by")
        .order_by("-created_at", "-pk")
    )


def actions_for(bulks) -> list[BulkActionType]:
    """The actions of a page of bulk actions, with all their Offers read in one query."""
    actions = [action_for(bulk) for bulk in bulks]
    offer_ids = {a.params["offer"] for a in actions if isinstance(a, OfferAction)}
    if offer_ids:
        offers = Offer.objects.in_bulk(offer_ids)
        for action in actions:
            if isinstance(action, OfferAction):
                action._offer = offers[action.params["offer"]]
    return actions


def entries_for(bulks) -> list["Entry"]:
    return [Entry(action) for action in actions_for(bulks)]


# What a run counts besides the changed and the skipped (BulkActionType.counted), as its
# summary names it.
COUNTED = {"added": "Contacts added", "updated": "Contacts updated", "granted": "Offers granted"}


@dataclass
class Entry:
    """A bulk action as its page and the history show it."""

    action: BulkActionType

    @property
    def bulk(self) -> BulkAction:
        return self.action.bulk

    @property
    def selection(self) -> str:
        selection = self.bulk.selection
        if "undo_of" in selection:
            return f"The contacts changed by #{selection['undo_of']}"
        if "pasted" in selection:
            if selection.get("query"):
                matching = self._matching(selection["query"]).lower()
                return f"The contacts of a pasted list of emails, {matching}"
            return "The contacts of a pasted list of emails"
        if "import" in selection:
            return f"The rows of {self.bulk.params['file_name']}"
        if selection.get("all"):
            return self._matching(selection.get("query", "")) or "All contacts"
        checked = len(selection.get("ids", []))
        return ngettext("%d checked contact", "%d checked contacts", checked) % checked

    @staticmethod
    def _matching(query_string: str) -> str:
        """ "All matching “ada” and 1 filter", or "" for no search and no filter."""
        query = QueryDict(query_string)
        search = query.get("q", "").strip()
        filters = sum(1 for name, value in query.items() if name != "q" and value)
        filters_text = ngettext("%d filter", "%d filters", filters) % filters
        if search and filters:
            return f"All matching “{search}” and {filters_text}"
        if search:
            return f"All matching “{search}”"
        return f"All matching {filters_text}" if filters else ""

    @property
    def selection_url(self) -> str:
        """The Contacts tab with the search and filters of an "all matching" selection."""
        if not self.bulk.selection.get("all"):
            return ""
        query = self.bulk.selection.get("query", "")
        url = reverse("contacts:list")
        return f"{url}?{query}" if query else url

    @property
    def skipped(self) -> list[tuple[str, int]]:
        return sorted(self.bulk.outcome.get("skipped", {}).items(), key=lambda i: -i[1])

    @property
    def counted(self) -> list[tuple[str, int]]:
        counted = self.bulk.outcome.get("counted", {})
        return [(label, counted[key]) for key, label in COUNTED.items() if key in counted]

    @property
    def failed(self) -> list[tuple[str, int]]:
        return sorted(self.bulk.outcome.get("failed", {}).items(), key=lambda i: -i[1])

    @property
    def is_done(self) -> bool:
        return self.bulk.status == BulkAction.Status.DONE

    @cached_property
    def is_stalled(self) -> bool:
        """No chunk done for too long: its worker stopped, and the access sweep requeues it."""
        return recovery.is_stalled(self.bulk)
