"""Passwords (argon2), bearer tokens (stored as SHA-256), derived secrets and field encryption."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

TOKEN_BYTES = 32


class Secrets:
    """Everything derived from ``TIERSLIEU_SECRET_KEY``; one instance per application."""

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode()
        self._hasher = PasswordHasher()
        fernet_key = base64.urlsafe_b64encode(self.derive(b"field-encryption"))
        self._fernet = Fernet(fernet_key)

    def derive(self, purpose: bytes) -> bytes:
        return hmac.new(self._key, purpose, hashlib.sha256).digest()

    # Passwords -------------------------------------------------------------
    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_password(self, password_hash: str | None, password: str) -> bool:
        if not password_hash:
            # Spend comparable time so that unknown accounts are not distinguishable by timing.
            self._hasher.hash(password)
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other argon2 parameters than today's (re-hash at log-in)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    # Field encryption (OctoPrint API keys) ---------------------------------
    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: the secret key changed since this value was stored") from exc

    # Derived URL tokens (calendar feeds) -----------------------------------
    def url_token(self, purpose: str, subject: str) -> str:
        digest = hmac.new(self._key, f"{purpose}:{subject}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def check_url_token(self, purpose: str, subject: str, token: str) -> bool:
        # Compare bytes: a token from a URL may hold any character.
        return hmac.compare_digest(self.url_token(purpose, subject).encode(), token.encode("utf-8", "replace"))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
