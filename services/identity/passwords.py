"""Password and PIN hashing with argon2 (argon2id, the library's current parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified when a user has no password, so that "no such user" and "wrong password"
# take the same time and a caller cannot tell usernames that exist.
_DUMMY_HASH = _hasher.hash("samverkan-no-such-user")


def hash_secret(secret: str) -> str:
    """An argon2id hash of ``secret`` for storage."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``stored_hash`` (always spends the time of one check)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)
