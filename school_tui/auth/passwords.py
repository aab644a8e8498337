"""Turning a person's password into their PostgreSQL password, on the client.

argon2id (t=3, 64 MiB, p=1) over the password with the person's salt gives 32 bytes; their
base64 text is the PostgreSQL password, and only its SCRAM verifier is stored on the server.
So the server never sees the password, and an attacker with the verifier must pay argon2's
cost per guess on top of SCRAM's.

The password is normalised to Unicode NFKC first (NIST SP 800-63B 5.1.1.2), so the same
password typed on two keyboards (a precomposed "é" or "e" + combining accent, full-width
digits from an IME) derives to the same key.
"""

from __future__ import annotations

import base64
import secrets
import unicodedata

ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1
SALT_BYTES = 16


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def normalise(password: str) -> str:
    """The form every password is derived and checked in: Unicode NFKC."""
    return unicodedata.normalize("NFKC", password)


def derive_db_password(password: str, salt: bytes) -> str:
    from argon2.low_level import Type, hash_secret_raw

    raw = hash_secret_raw(
        secret=normalise(password).encode("utf-8"),
        salt=bytes(salt),
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    )
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def unusable_db_password() -> str:
    """A random PostgreSQL password no typed password derives to: an account that exists but
    cannot be logged into until an Admin sets a temporary password. (Used for bulk-created
    people such as the demo's students, where running argon2 for each would cost minutes.)"""
    return secrets.token_urlsafe(32)


def temporary_password() -> str:
    """Shown once to the person; long enough for NIST SP 800-63B's 15-character minimum."""
    return "-".join(secrets.token_hex(3) for _ in range(4))  # e.g. 1a2b3c-...: 27 characters
