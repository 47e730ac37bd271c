"""API keys of a site: made, rotated and revoked by its owner and administrators."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kajaccess.actors import Actor
from kajaccess.models import ApiKey, Site
from kajaccess.outcomes import Outcome

NAME_MAX_LENGTH = 50
# After a rotation the old key keeps working this long, so an integration can move over.
ROTATION_GRACE = timedelta(hours=24)
# How stale `last_used_at` may be: writing it on every request would make each call a write.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    """A key just made: the row, and the key itself, which is shown this once only."""

    key: ApiKey
    secret: str


def _check(*, name: str, scopes: list[str], expires_at: datetime | None, now: datetime):
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the key a name, such as the system that will use it.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(f"The name can be at most {NAME_MAX_LENGTH} characters.")
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown or not scopes:
        raise ValidationError("Choose at least one of the scopes listed.")
    if expires_at is not None and expires_at <= now:
        raise ValidationError("The expiry date must be in the future.")
    # Stored in the order of the list of scopes, whatever order they came in.
    return name, [scope for scope in ApiKey.Scope.values if scope in scopes]


def api_key_create(
    *, site: Site, name: str, scopes: list[str], expires_at: datetime | None, actor: Actor
) -> NewKey:
    """Make a key for `site` with these scopes; the secret is returned once and kept hashed."""
    now = timezone.now()
    name, scopes = _check(name=name, scopes=scopes, expires_at=expires_at, now=now)
    with transaction.atomic():
        key, secret = ApiKey.objects.create_key(
            site=site, name=name, scopes=scopes, expiry_date=expires_at, created_by=actor.user
        )
    return NewKey(key, secret)


def api_key_revoke(*, key: ApiKey, actor: Actor) -> Outcome:
    """Stop a key for good; a key already revoked stays as it was."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked:
            return Outcome(locked, False, f"The key “{locked.name}” was already revoked.")
        locked.revoked = True
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor.user
        locked.save(update_fields=["revoked", "revoked_at", "revoked_by"])
    return Outcome(locked, True, f"The key “{locked.name}” is revoked: it no longer works.")


def api_key_rotate(*, key: ApiKey, actor: Actor) -> NewKey:
    """A new key with the same name, scopes and expiry; the old one works 24 hours more."""
    now = timezone.now()
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().get(pk=key.pk)
        if old.revoked or old.has_expired:
            raise ValidationError(f"The key “{old.name}” no longer works: make a new key instead.")
        if old.replaced_by_id is not None:
            raise ValidationError(f"The key “{old.name}” was already rotated.")
        new, secret = ApiKey.objects.create_key(
            site_id=old.site_id,
            name=old.name,
            scopes=old.scopes,
            expiry_date=old.expiry_date,
            created_by=actor.user,
        )
        grace_end = now + ROTATION_GRACE
        old.expiry_date = min(old.expiry_date or grace_end, grace_end)
        old.replaced_by = new
        old.save(update_fields=["expiry_date", "replaced_by"])
    return NewKey(new, secret)


def api_key_used(*, key: ApiKey, now: datetime | None = None) -> None:
    """Note that the key was used now, at most once a minute per key."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_PRECISION:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
