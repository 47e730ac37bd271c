"""The `KajAccess-Signature` header: an HMAC-SHA256 of "<unix time>.<body>" with the secret."""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "KajAccess-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(*, secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_matches(*, secret: str, body: bytes, header: str) -> bool:
    """True when `header` is this body's signature with this secret (as a receiver checks)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    expected = signature(secret=secret, body=body, timestamp=int(parts["t"]))
    return hmac.compare_digest(expected, header)
