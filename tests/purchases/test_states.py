"""The states of access: the Python and SQL forms agree, and every state has its look."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from kajaccess.actors import Actor
from purchases.access import services
from purchases.access.facts import refresh_access_facts
from purchases.access.states import (
    PRODUCT_STATES,
    AccessState,
    access_rank_case,
    access_state_case,
    grant_state_case,
    grant_state_of,
    state_of,
)
from purchases.models import AccessStatus, Grant, ProductAccess, RevokedVia
from tests.academy import build_academy
from tests.factories import GrantFactory, OfferFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

# Times around `now`, the boundaries included: access opens at its start and ends at its end.
OFFSETS = [timedelta(days=-40), timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)]
OFFSETS.append(timedelta(days=3))


@st.composite
def switches(draw):
    """A row's status with a revoked_via that fits it, as the database's constraints ask."""
    if draw(st.booleans()):
        return AccessStatus.ACTIVE, ""
    return AccessStatus.REVOKED, draw(st.sampled_from(RevokedVia.values))


@st.composite
def grants_with_accesses(draw):
    starts = draw(st.sampled_from(OFFSETS))
    expires = draw(st.sampled_from([None, *[o for o in OFFSETS if o > starts]]))
    accesses = draw(st.lists(st.tuples(switches(), st.booleans()), min_size=3, max_size=3))
    return {"switch": draw(switches()), "starts": starts, "expires": expires}, accesses


def _store(grant: Grant, grant_spec: dict, access_specs: list, now) -> None:
    (status, via), starts, expires = (
        grant_spec["switch"],
        grant_spec["starts"],
        grant_spec["expires"],
    )
    Grant.objects.filter(pk=grant.pk).update(
        status=status,
        revoked_via=via,
        revoked_at=now if via else None,
        starts_at=now + starts,
        expires_at=None if expires is None else now + expires,
    )
    for access, ((status, via), removed) in zip(
        grant.product_accesses.order_by("pk"), access_specs, strict=True
    ):
        ProductAccess.objects.filter(pk=access.pk).update(
            status=status,
            revoked_via=via,
            revoked_at=now if via else None,
            removed_at=now if removed else None,
        )
    refresh_access_facts(contact_ids=[grant.contact_id])


def test_python_and_sql_agree_on_every_state():
    """state_of and grant_state_of against their SQL forms, on SQLite and on PostgreSQL."""
    products = [ProductFactory() for _ in range(3)]
    grant = GrantFactory(offer=OfferFactory(site=products[0].site, products=products))
    now = timezone.now()

    @settings(max_examples=250, deadline=None, database=None)
    @given(grants_with_accesses())
    def agree(example):
        _store(grant, *example, now)
        accesses = ProductAccess.objects.filter(grant=grant).select_related("grant")
        for access in accesses.annotate(
            state=access_state_case(now), rank=access_rank_case(now)
        ).order_by("pk"):
            python = state_of(access, now)
            assert access.state == (python and python.value), example
            assert access.rank == (python and python.rank), example
            # Every access the contact still holds is in exactly one state of a Product.
            assert (python in PRODUCT_STATES) == (access.removed_at is None), example
        loaded = Grant.objects.prefetch_related("product_accesses").get(pk=grant.pk)
        sql = Grant.objects.annotate(state=grant_state_case(now)).get(pk=grant.pk).state
        assert sql == grant_state_of(loaded, now).value, example

    agree()


def test_every_state_has_its_words_and_badge_and_a_rank_best_first():
    assert [state.rank for state in AccessState] == list(range(len(AccessState)))
    for state in AccessState:
        assert state.label and state.badge_label and state.badge.startswith("badge--")
        assert AccessState.ranked(state.rank) is state
    assert [state.label for state in PRODUCT_STATES] == [
        "Has access",
        "Starts later",
        "Revoked",
        "Expired",
    ]


def test_a_product_revoked_alone_makes_the_offer_partly_revoked_and_all_of_them_revoked():
    academy = build_academy()
    actor = Actor.creator(academy.creator)

    def state():
        grant = Grant.objects.prefetch_related("product_accesses").get(pk=academy.bootcamp_grant.pk)
        return grant_state_of(grant)

    assert state() == AccessState.ACTIVE
    services.revoke_product(grant=academy.bootcamp_grant, product=academy.advanced, actor=actor)
    assert state() == AccessState.PARTLY_REVOKED
    services.revoke_product(grant=academy.bootcamp_grant, product=academy.basics, actor=actor)
    assert state() == AccessState.REVOKED
    services.restore_access(grant=academy.bootcamp_grant, product=academy.basics, actor=actor)
    services.revoke_grant(grant=academy.bootcamp_grant, actor=actor)
    assert state() == AccessState.REVOKED


# --- The admin reads the same states -----------------------------------------------------


def test_the_admin_shows_each_grant_and_product_access_in_its_state(client):
    academy = build_academy()
    services.revoke_product(
        grant=academy.bootcamp_grant,
        product=academy.advanced,
        actor=Actor.creator(academy.creator),
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = client.get(reverse("admin:purchases_grant_changelist")).content.decode()
    assert '<td class="field-access">Partly revoked</td>' in changelist
    assert changelist.count('<td class="field-access">Has access</td>') == 2  # Vault, Other
    change = reverse("admin:purchases_grant_change", args=[academy.bootcamp_grant.pk])
    page = client.get(change).content.decode()
    cells = re.findall(r'<td class="field-access">\s*<p>([^<]*)</p>', page)
    assert sorted(cells) == ["Has access", "Revoked"]
