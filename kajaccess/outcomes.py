"""What a service did, as every service answers it."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """What a service did: the row it acted on, whether anything changed, and in words."""

    obj: Any
    changed: bool
    message: str
