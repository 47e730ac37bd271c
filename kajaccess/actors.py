"""Who changes access: every service takes an explicit Actor.

The kind of actor decides how a revoke is recorded (`revoked_via`) and so what the
creator later reads on the Purchases tab. A member of a site's team also carries the
role they held (SiteMembership.Role), which the audit trail keeps with each change.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models


class ActorKind(models.TextChoices):
    CREATOR = "creator", "Creator"
    SUPPORT = "support", "Support"
    AUTOMATION = "automation", "Automation"
    EXPIRY = "expiry", "Expiry"
    CANCELLATION = "cancellation", "Cancellation"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    kind: str
    user: AbstractBaseUser | None = None
    role: str = ""
    # The API key a change was made with (kajaccess.models.ApiKey): the change is the
    # creator's, signed with the key's name, on behalf of the member who made the key.
    api_key: Any = None

    @classmethod
    def api(cls, key) -> "Actor":
        return cls(ActorKind.CREATOR, key.created_by, "", key)

    @classmethod
    def creator(cls, user, *, role: str = "") -> "Actor":
        return cls(ActorKind.CREATOR, user, role)

    @classmethod
    def support(cls, user) -> "Actor":
        return cls(ActorKind.SUPPORT, user)

    @classmethod
    def customer(cls, user) -> "Actor":
        return cls(ActorKind.CUSTOMER, user)

    @classmethod
    def automation(cls) -> "Actor":
        return cls(ActorKind.AUTOMATION)

    @classmethod
    def expiry(cls) -> "Actor":
        return cls(ActorKind.EXPIRY)

    @classmethod
    def cancellation(cls) -> "Actor":
        return cls(ActorKind.CANCELLATION)

    @classmethod
    def system(cls) -> "Actor":
        return cls(ActorKind.SYSTEM)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def api_key_id(self) -> str | None:
        return self.api_key.pk if self.api_key is not None else None
