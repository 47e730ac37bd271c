"""Applying automations when something happens to a contact.

The runner listens to the signals the access, billing and tag services send after
their transaction commits, and applies the site's active automations through the same
services, with the automation actor: a grant reads `Granted by automation`, a revoke
`Revoked by automation`.

An automation can never set itself off again in a loop. One change starts a chain: the
grants an automation makes are followed up in that same chain (the `offer X was granted`
signal they send is not acted on a second time), and within a chain each automation acts
at most once for each contact. A chain is therefore finite, whatever the automations.
"""

import logging
from collections import deque
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.dispatch import receiver

from contacts.models import Tag
from contacts.signals import tag_added
from kajaccess.actors import Actor, ActorKind
from products.models import Offer
from purchases.access.services import grant_offer_to_contacts, revoke_grants
from purchases.automations.services import Action, Trigger, describe
from purchases.models import AccessStatus, Automation, Grant
from purchases.signals import offer_granted, payment_failed, subscription_canceled

logger = logging.getLogger(__name__)


# How far "an automation granted an offer, whose grant sets off another automation" may go.
MAX_CHAIN_DEPTH = 5


@dataclass(frozen=True)
class Step:
    trigger: str
    subject_id: int  # the tag or the offer
    contact_ids: tuple[int, ...]
    depth: int = 0


def _matching(site_id: int, step: Step) -> list[Automation]:
    subject = "trigger_tag_id" if step.trigger == Trigger.TAG_ADDED else "trigger_offer_id"
    return list(
        Automation.objects.filter(
            site_id=site_id, active=True, trigger=step.trigger, **{subject: step.subject_id}
        )
        .select_related("offer", "trigger_tag", "trigger_offer")
        .order_by("pk")
    )


def _apply(automation: Automation, contact_ids: list[int]) -> list[int]:
    """Apply one automation to contacts; returns the contacts it granted its offer to."""
    reason = f"Automation: {describe(automation)}"
    if automation.action == Action.GRANT_OFFER:
        grants = grant_offer_to_contacts(
            offer=automation.offer,
            contact_ids=contact_ids,
            actor=Actor.automation(),
            source=Grant.Source.AUTOMATION,
            reason=reason,
        )
        return [grant.contact_id for grant in grants]
    grant_ids = Grant.objects.filter(
        offer=automation.offer, contact_id__in=contact_ids, status=AccessStatus.ACTIVE
    ).values_list("pk", flat=True)
    revoke_grants(grant_ids=list(grant_ids), actor=Actor.automation(), reason=reason)
    return []


def run_automations(*, site_id: int, trigger: str, subject_id: int, contact_ids) -> int:
    """Apply a site's active automations for something that happened to some contacts,
    and for whatever their grants set off in turn; returns how many actions ran.

    Each automation works on all the contacts at once, so a bulk action's chunk costs
    the same number of statements for one contact as for five hundred.
    """
    done: set[tuple[int, int]] = set()
    queue = deque([Step(trigger, subject_id, tuple(contact_ids))])
    applied = 0
    while queue:
        step = queue.popleft()
        if step.depth > MAX_CHAIN_DEPTH:
            logger.warning("Automation chain stopped at depth %s", MAX_CHAIN_DEPTH)
            continue
        for automation in _matching(site_id, step):
            todo = [pk for pk in step.contact_ids if (automation.pk, pk) not in done]
            if not todo:
                continue
            done.update((automation.pk, pk) for pk in todo)
            try:
                granted = _apply(automation, todo)
            except ValidationError as error:
                # The change that set it off is already saved; a stale automation (its
                # offer deleted since) must not undo or break it.
                logger.warning("Automation %s skipped: %s", automation.pk, error.messages)
                continue
            applied += 1
            if granted:
                queue.append(
                    Step(Trigger.OFFER_GRANTED, automation.offer_id, tuple(granted), step.depth + 1)
                )
    return applied


@receiver(tag_added, dispatch_uid="automations_on_tag_added")
def on_tag_added(sender, site_id: int, tag: Tag, contact_ids, **kwargs):
    run_automations(
        site_id=site_id, trigger=Trigger.TAG_ADDED, subject_id=tag.pk, contact_ids=contact_ids
    )


@receiver(offer_granted, dispatch_uid="automations_on_offer_granted")
def on_offer_granted(sender, offer: Offer, grant_ids, actor: Actor, **kwargs):
    if actor.kind == ActorKind.AUTOMATION:
        return  # the chain that made these grants follows them up itself
    if not Automation.objects.filter(
        site_id=offer.site_id, active=True, trigger=Trigger.OFFER_GRANTED, trigger_offer=offer
    ).exists():
        return
    contact_ids = Grant.objects.filter(pk__in=list(grant_ids)).values_list("contact_id", flat=True)
    run_automations(
        site_id=offer.site_id,
        trigger=Trigger.OFFER_GRANTED,
        subject_id=offer.pk,
        contact_ids=list(contact_ids),
    )


def _for_subscription(trigger: str, subscription) -> None:
    grant = subscription.grant
    run_automations(
        site_id=grant.site_id,
        trigger=trigger,
        subject_id=grant.offer_id,
        contact_ids=[grant.contact_id],
    )


@receiver(subscription_canceled, dispatch_uid="automations_on_subscription_canceled")
def on_subscription_canceled(sender, subscription, **kwargs):
    _for_subscription(Trigger.SUBSCRIPTION_CANCELED, subscription)


@receiver(payment_failed, dispatch_uid="automations_on_payment_failed")
def on_payment_failed(sender, subscription, **kwargs):
    _for_subscription(Trigger.PAYMENT_FAILED, subscription)
