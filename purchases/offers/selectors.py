"""The read side of editing an Offer."""

from collections.abc import Iterable

from django.db.models import (
    Count,
)

from products.models import Offer
from purchases.models import (
    AccessStatus,
    Grant,
    ProductAccess,
)


def offer_change_counts(offer: Offer, added: Iterable[int], removed: Iterable[int]) -> dict:
    """How many customers a change of an Offer's Products reaches, before it is saved.

    Returns {"gain": n, "lose": {product_id: n}}: each added Product reaches every
    active grant of the Offer (add_product_to_offer), each removed one the grants still
    holding it (remove_product_from_offer). Two queries at most.
    """
    added, removed = list(added), list(removed)
    gain = Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).count() if added else 0
    lose = {}
    if removed:
        lose = dict(
            ProductAccess.objects.filter(
                grant__offer=offer,
                grant__status=AccessStatus.ACTIVE,
                product__in=removed,
                removed_at__isnull=True,
            )
            .order_by()
            .values("product")
            .annotate(n=Count("pk"))
            .values_list("product", "n")
        )
    return {"gain": gain, "lose": {pk: lose.get(pk, 0) for pk in removed}}
