"""The states of a contact's access, each defined once: its value, words, rank and badge.

A ProductAccess is in one state of PRODUCT_STATES, or in none once its Product was
taken out of the Offer. A Grant (what the dashboard shows as the Offer's state) is in
one of them too, or `Partly revoked` when some but not all of its Products are revoked.
Each test is written twice, side by side: in Python for loaded rows, and in SQL for
querysets; tests/purchases/test_states.py holds the two to the same answers. Adding a
state is adding it here: its member, its look, and its tests in both forms.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Case, CharField, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from purchases.models import AccessStatus, Grant, ProductAccess, RevokedVia

# A row (Grant or ProductAccess) is switched on or off; off by expiry is not a revoke.
ON, OFF, EXPIRY = AccessStatus.ACTIVE, AccessStatus.REVOKED, RevokedVia.EXPIRY


class AccessState(models.TextChoices):
    """Best first: where a contact reaches a Product more than one way, the best one counts."""

    ACTIVE = "active", "Has access"
    SCHEDULED = "scheduled", "Starts later"
    PARTLY_REVOKED = "partly_revoked", "Partly revoked"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def badge(self) -> str:
        """The badge's CSS class."""
        return _LOOKS[self].badge

    @property
    def badge_label(self) -> str:
        """The badge's word, where no column names what the badge is about."""
        return _LOOKS[self].badge_label or self.label

    @property
    def is_open(self) -> bool:
        """Opens its Product now or will: there is something left to revoke."""
        return self in (AccessState.ACTIVE, AccessState.SCHEDULED)

    @classmethod
    def ranked(cls, rank: int) -> "AccessState":
        return _BY_RANK[rank]


@dataclass(frozen=True)
class _Look:
    badge: str
    badge_label: str = ""  # the label, unless the badge needs a word of its own


_LOOKS = {
    AccessState.ACTIVE: _Look("badge--active", "Active"),
    AccessState.SCHEDULED: _Look("badge--info"),
    AccessState.PARTLY_REVOKED: _Look("badge--warning"),
    AccessState.REVOKED: _Look("badge--revoked"),
    AccessState.EXPIRED: _Look("badge--expired"),
}
_RANKS = {state: rank for rank, state in enumerate(AccessState)}
_BY_RANK = dict(enumerate(AccessState))


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# --- One ProductAccess ----------------------------------------------------------------
# Each state's Python test on a loaded access (with its grant), then the same test in SQL;
# `prefix` reaches the ProductAccess from another model.


def is_held(access: ProductAccess) -> bool:
    """Its Product is still part of the Offer: the contact holds or held it."""
    return access.removed_at is None


def held_access_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}removed_at__isnull": True})


def _both_active(access: ProductAccess) -> bool:
    return access.status == ON and access.grant.status == ON


def _both_active_q(prefix: str) -> Q:
    return Q(**{f"{prefix}status": ON, f"{prefix}grant__status": ON})


def opens_now(access: ProductAccess, now: datetime | None = None) -> bool:
    grant, now = access.grant, _now(now)
    return (
        is_held(access)
        and _both_active(access)
        and grant.starts_at <= now
        and (grant.expires_at is None or grant.expires_at > now)
    )


def current_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    """A ProductAccess that opens its Product now."""
    now = _now(now)
    return (
        held_access_q(prefix)
        & _both_active_q(prefix)
        & Q(**{f"{prefix}grant__starts_at__lte": now})
        & (
            Q(**{f"{prefix}grant__expires_at__isnull": True})
            | Q(**{f"{prefix}grant__expires_at__gt": now})
        )
    )


def starts_later(access: ProductAccess, now: datetime | None = None) -> bool:
    # A grant ends after it starts (a constraint), so one that has not started has not ended.
    return is_held(access) and _both_active(access) and access.grant.starts_at > _now(now)


def scheduled_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    return (
        held_access_q(prefix)
        & _both_active_q(prefix)
        & Q(**{f"{prefix}grant__starts_at__gt": _now(now)})
    )


def _switched_off_via(access: ProductAccess) -> str | None:
    """How the access was switched off, the whole Grant's switch first; None while on."""
    if access.grant.status == OFF:
        return access.grant.revoked_via
    return access.revoked_via if access.status == OFF else None


def was_revoked(access: ProductAccess, now: datetime | None = None) -> bool:
    """Someone switched it off; access that ran out at the end of its period expired."""
    via = _switched_off_via(access)
    return is_held(access) and via is not None and via != EXPIRY


def revoked_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    grant_revoked = Q(**{f"{prefix}grant__status": OFF}) & ~Q(
        **{f"{prefix}grant__revoked_via": EXPIRY}
    )
    product_revoked = Q(**{f"{prefix}grant__status": ON, f"{prefix}status": OFF}) & ~Q(
        **{f"{prefix}revoked_via": EXPIRY}
    )
    return held_access_q(prefix) & (grant_revoked | product_revoked)


def has_expired(access: ProductAccess, now: datetime | None = None) -> bool:
    """Its period is over, whether or not the expiry sweep has recorded it yet."""
    expires_at = access.grant.expires_at
    ran_out = _both_active(access) and expires_at is not None and expires_at <= _now(now)
    return is_held(access) and (ran_out or _switched_off_via(access) == EXPIRY)


def expired_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    ran_out = _both_active_q(prefix) & Q(**{f"{prefix}grant__expires_at__lte": _now(now)})
    grant_recorded = Q(**{f"{prefix}grant__status": OFF, f"{prefix}grant__revoked_via": EXPIRY})
    product_recorded = Q(
        **{f"{prefix}grant__status": ON, f"{prefix}status": OFF, f"{prefix}revoked_via": EXPIRY}
    )
    recorded = grant_recorded | product_recorded
    return held_access_q(prefix) & (ran_out | recorded)


# The states one Product can be in, best first, each with its two tests.
_PRODUCT_TESTS = (
    (AccessState.ACTIVE, opens_now, current_access_q),
    (AccessState.SCHEDULED, starts_later, scheduled_access_q),
    (AccessState.REVOKED, was_revoked, revoked_access_q),
    (AccessState.EXPIRED, has_expired, expired_access_q),
)
PRODUCT_STATES = tuple(state for state, _, _ in _PRODUCT_TESTS)


def open_access_q(prefix: str = "", now: datetime | None = None) -> Q:
    """A ProductAccess that opens its Product now or will."""
    return current_access_q(prefix, now) | scheduled_access_q(prefix, now)


def state_of(access: ProductAccess, now: datetime | None = None) -> AccessState | None:
    """The access's state; None once its Product was taken out of the Offer."""
    now = _now(now)
    for state, test, _ in _PRODUCT_TESTS:
        if test(access, now):
            return state
    return None


def access_state_case(now: datetime | None = None) -> Case:
    """state_of in SQL, for a ProductAccess queryset: the state's value, or NULL."""
    now = _now(now)
    return Case(
        *[When(q(now=now), then=Value(state.value)) for state, _, q in _PRODUCT_TESTS],
        default=None,
        output_field=CharField(),
    )


def access_rank_case(now: datetime | None = None) -> Case:
    """The state's rank, for ordering a ProductAccess queryset best first (NULL: none)."""
    now = _now(now)
    return Case(
        *[When(q(now=now), then=Value(state.rank)) for state, _, q in _PRODUCT_TESTS],
        default=None,
        output_field=IntegerField(),
    )


# --- One Grant: the Offer's state -------------------------------------------------------


def own_state_of(grant: Grant, now: datetime | None = None) -> AccessState:
    """The Grant's own state, whatever was revoked of its Products one by one."""
    now = _now(now)
    if grant.status == OFF:
        return AccessState.EXPIRED if grant.revoked_via == EXPIRY else AccessState.REVOKED
    if grant.has_expired(now):
        return AccessState.EXPIRED
    return AccessState.SCHEDULED if grant.starts_at > now else AccessState.ACTIVE


def has_ended(grant: Grant, now: datetime | None = None) -> bool:
    """Its access period is over, whether or not the expiry sweep has recorded it yet."""
    return own_state_of(grant, now) == AccessState.EXPIRED


def ended_grant_q(prefix: str = "", now: datetime | None = None) -> Q:
    """has_ended in SQL: a Grant the sweep switched off, or whose end has passed."""
    return Q(**{f"{prefix}status": OFF, f"{prefix}revoked_via": EXPIRY}) | Q(
        **{f"{prefix}status": ON, f"{prefix}expires_at__lte": _now(now)}
    )


def current_grant_q(prefix: str = "", now: datetime | None = None) -> Q:
    """A Grant whose own state is ACTIVE."""
    now = _now(now)
    return Q(**{f"{prefix}status": ON, f"{prefix}starts_at__lte": now}) & (
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now})
    )


def grant_state_of(grant: Grant, now: datetime | None = None) -> AccessState:
    """The Offer's state for a Grant, from its product_accesses (prefetch them)."""
    own = own_state_of(grant, now)
    held = [access for access in grant.product_accesses.all() if is_held(access)]
    revoked = [access for access in held if access.status == OFF]
    if not own.is_open or not revoked:
        return own
    if len(revoked) < len(held):
        return AccessState.PARTLY_REVOKED
    if any(access.revoked_via != EXPIRY for access in revoked):
        return AccessState.REVOKED
    return AccessState.EXPIRED


def grant_state_case(now: datetime | None = None) -> Case:
    """grant_state_of in SQL, for a Grant queryset: the same tests in the same order."""
    now = _now(now)
    held = ProductAccess.objects.filter(held_access_q(), grant=OuterRef("pk"))
    revoked = held.filter(status=OFF)
    states = [
        (Q(status=OFF, revoked_via=EXPIRY), AccessState.EXPIRED),
        (Q(status=OFF), AccessState.REVOKED),
        (Q(expires_at__lte=now), AccessState.EXPIRED),
        (~Exists(revoked) & Q(starts_at__gt=now), AccessState.SCHEDULED),
        (~Exists(revoked), AccessState.ACTIVE),
        (Exists(held.filter(status=ON)), AccessState.PARTLY_REVOKED),
        (Exists(revoked.exclude(revoked_via=EXPIRY)), AccessState.REVOKED),
    ]
    return Case(
        *[When(condition, then=Value(state.value)) for condition, state in states],
        default=Value(AccessState.EXPIRED.value),
        output_field=CharField(),
    )
