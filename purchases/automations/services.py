"""Automations: "when this happens to a contact, grant or revoke that offer".

Creating, pausing, resuming and deleting a site's automations, and the words the
Automations tab describes them with. purchases.automations.runner applies them.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts.services import tag_get_or_create
from kajaccess.models import Site
from kajaccess.outcomes import Outcome
from products.models import Offer
from purchases.models import Automation

Trigger = Automation.Trigger


Action = Automation.Action


def when_words(automation: Automation) -> str:
    if automation.trigger == Trigger.TAG_ADDED:
        return f"When tag “{automation.trigger_tag.name}” is added"
    if automation.trigger == Trigger.PAYMENT_FAILED:
        return f"When a payment for “{automation.trigger_offer.title}” fails"
    if automation.trigger == Trigger.SUBSCRIPTION_CANCELED:
        return f"When a subscription to “{automation.trigger_offer.title}” is canceled"
    return f"When “{automation.trigger_offer.title}” is granted"


def then_words(automation: Automation) -> str:
    verb = "grant" if automation.action == Action.GRANT_OFFER else "revoke"
    return f"{verb} “{automation.offer.title}”"


def describe(automation: Automation) -> str:
    """An automation in words, as its list shows it."""
    return f"{when_words(automation)}, {then_words(automation)}"


@dataclass(frozen=True)
class AutomationRow:
    automation: Automation
    when: str
    then: str

    @property
    def deleted_offers(self) -> list[str]:
        """Offers it names that were deleted since: it is skipped while they are."""
        a = self.automation
        offers = [a.trigger_offer, a.offer] if a.trigger_offer else [a.offer]
        return [offer.title for offer in offers if offer.is_deleted]


def site_automations(site: Site) -> list[AutomationRow]:
    """A site's automations, newest first, in words. One query whatever their number."""
    automations = (
        Automation.objects.filter(site=site)
        .select_related("trigger_tag", "trigger_offer", "offer")
        .order_by("-created_at", "-pk")
    )
    return [AutomationRow(a, when_words(a), then_words(a)) for a in automations]


def _live_offer(site: Site, offer: Offer | None, what: str) -> Offer:
    if offer is None:
        raise ValidationError(f"Choose {what}.")
    if offer.site_id != site.pk:
        raise ValidationError("That offer belongs to another site.")
    if offer.is_deleted:
        raise ValidationError(f"“{offer.title}” was deleted; choose a live offer.")
    return offer


def create_automation(
    *,
    site: Site,
    trigger: str,
    action: str,
    offer: Offer | None,
    tag_name: str = "",
    trigger_offer: Offer | None = None,
) -> Automation:
    """Add an active automation; the tag is created when the site has none of that name."""
    if trigger not in Trigger.values:
        raise ValidationError("Choose what sets the automation off.")
    if action not in Action.values:
        raise ValidationError("Choose what the automation does.")
    offer = _live_offer(site, offer, "the offer to grant or revoke")
    tag = None
    with transaction.atomic():
        if trigger == Trigger.TAG_ADDED:
            if not (tag_name or "").strip():
                raise ValidationError("Choose the tag that sets the automation off.")
            tag = tag_get_or_create(site=site, name=tag_name)
            trigger_offer = None
        else:
            trigger_offer = _live_offer(site, trigger_offer, "the offer that sets it off")
            if trigger == Trigger.OFFER_GRANTED and trigger_offer.pk == offer.pk:
                raise ValidationError(
                    "An automation cannot grant or revoke the offer whose grant sets it off."
                )
        automation = Automation(
            site=site,
            trigger=trigger,
            trigger_tag=tag,
            trigger_offer=trigger_offer,
            action=action,
            offer=offer,
        )
        automation.full_clean()
        same = Automation.objects.filter(
            site=site,
            trigger=trigger,
            trigger_tag=tag,
            trigger_offer=trigger_offer,
            action=action,
            offer=offer,
        )
        if same.exists():
            raise ValidationError(f"An automation “{describe(automation)}” already exists.")
        automation.save()
    return automation


def set_automation_active(*, automation: Automation, active: bool) -> Outcome:
    """Pause or resume an automation. A paused one does nothing until resumed."""
    with transaction.atomic():
        locked = Automation.objects.select_for_update().get(pk=automation.pk)
        automation.active = locked.active
        if locked.active == active:
            state = "active" if active else "paused"
            return Outcome(automation, False, f"That automation was already {state}.")
        automation.active = active
        automation.save(update_fields=["active"])
    verb = "resumed" if active else "paused"
    return Outcome(automation, True, f"Automation {verb}: {describe(automation)}.")


def delete_automation(*, automation: Automation) -> Outcome:
    """Remove an automation. What it already granted or revoked stays as it is."""
    words = describe(automation)
    deleted, _ = Automation.objects.filter(pk=automation.pk).delete()
    if not deleted:
        return Outcome(automation, False, "That automation was already deleted.")
    return Outcome(automation, True, f"Automation deleted: {words}.")
