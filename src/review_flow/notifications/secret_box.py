"""Webhook signing secrets, encrypted at rest.

A webhook secret must be readable again (we sign every delivery with it), so unlike
passwords and API tokens it cannot be kept as a hash. It is sealed with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key that lives in the
configuration, never in the database: a copy of the database alone, a backup or a
read-only SQL injection, does not give an attacker the power to sign deliveries.

Keys: ``REVIEW_FLOW_ENCRYPTION_KEYS``, comma-separated Fernet keys; the first seals,
all of them open, so a key is rotated by putting a new one first and running
``review-flow webhooks reseal``, then dropping the old one. Without it, one key is
derived from ``REVIEW_FLOW_SECRET_KEY`` (HKDF-SHA256 with a purpose label), which is
simpler to run but ties the secrets to the session key: changing that key then makes
registered secrets unreadable until they are re-registered.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from review_flow.errors import ConfigurationError

KEYS_SETTING = "REVIEW_FLOW_ENCRYPTION_KEYS"
SECRET_KEY_SETTING = "REVIEW_FLOW_SECRET_KEY"
_PURPOSE = b"review-flow webhook secrets v1"


class KeyMissing(ConfigurationError, ValueError):
    """No key is configured: nothing can be sealed or opened."""


class SecretUnreadable(ConfigurationError, ValueError):
    """A stored secret was sealed under a key that is no longer configured (or altered)."""


def derive_key(secret_key: str) -> bytes:
    """A Fernet key for this purpose alone, derived from the application's secret key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


class SecretBox:
    """Seals and opens short secrets with the configured keys (the first one seals)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeyMissing("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SecretBox:
        """From Flask config: ``ENCRYPTION_KEYS``, else derived from ``SECRET_KEY``."""
        listed = str(config.get("ENCRYPTION_KEYS") or "").strip()
        if listed:
            keys = [k.strip().encode() for k in listed.split(",") if k.strip()]
            for n, key in enumerate(keys, 1):
                try:
                    Fernet(key)
                except ValueError:
                    raise ValueError(
                        f"{KEYS_SETTING}: key {n} is not a Fernet key (32 bytes, url-safe "
                        "base64; make one with python -c 'from cryptography.fernet import "
                        "Fernet; print(Fernet.generate_key().decode())')"
                    ) from None
            return cls(keys)
        secret_key = config.get("SECRET_KEY")
        if not secret_key:
            raise KeyMissing(
                f"webhook secrets are encrypted, and no key is configured: set "
                f"{KEYS_SETTING} or {SECRET_KEY_SETTING}"
            )
        return cls([derive_key(str(secret_key))])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable(
                "a webhook secret cannot be decrypted with the configured keys (was "
                f"{KEYS_SETTING} or {SECRET_KEY_SETTING} changed without keeping the "
                "old key?)"
            ) from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed under the first key (for key rotation)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretUnreadable(
                "a webhook secret cannot be decrypted with the configured keys"
            ) from exc
