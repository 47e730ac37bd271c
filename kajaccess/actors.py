"""Who changes access: every service takes an explicit Actor.

The kind of actor decides how a revoke is recorded (`revoked_via`) and so what the
creator later reads on the Purchases tab. A member of a site's team also carries the
role they held (SiteMembership.Role), which the audit trail keeps with each change.
"""

from dataclasses import dataclass

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
