"""Field-level encryption for protected health information.

Keys come from settings.FIELD_ENCRYPTION_KEYS: the first key encrypts, every key decrypts, so
a key is rotated by putting a new one first, running `manage.py rotate_encryption_keys`, and
dropping the old one once no row uses it.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed


@cache
def _multi_fernet() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: protected fields cannot be stored"
        )
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: bytes) -> str:
    return _multi_fernet().encrypt(plaintext).decode("ascii")


def decrypt(token: str) -> bytes:
    try:
        return _multi_fernet().decrypt(token.encode("ascii"))
    except InvalidToken as exc:
        # Never include the token or any plaintext in the message: it may reach a log.
        raise ImproperlyConfigured(
            "A protected value could not be decrypted with any configured key"
        ) from exc


def encrypt_bytes(plaintext: bytes) -> bytes:
    """For files: the token as bytes, written as-is to storage."""
    return _multi_fernet().encrypt(plaintext)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _multi_fernet().decrypt(token)
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A protected file could not be decrypted with any configured key"
        ) from exc


def is_token(data: bytes) -> bool:
    """A Fernet token starts with its version byte 0x80, base64url-encoded: "gAAAAA"."""
    return data[:6] == b"gAAAAA"


def rotate(token: str) -> str:
    """Re-encrypt a token with the first key; a token already under it is rewritten anyway."""
    return _multi_fernet().rotate(token.encode("ascii")).decode("ascii")


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _multi_fernet.cache_clear()


def connect_settings_signal() -> None:
    setting_changed.connect(_reset, dispatch_uid="core.crypto.reset")
