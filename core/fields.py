"""Model fields whose values are encrypted at rest (see core.crypto).

The column holds a Fernet token, so it cannot be searched or compared in SQL: only `isnull`
lookups are allowed, and a filter on the value fails loudly instead of silently matching
nothing. Keep searchable identifiers (email, ids) in plain fields beside them.
"""

import datetime
import json
from typing import Any

from django.core.exceptions import FieldError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from core import crypto


class EncryptedField(models.TextField):
    """Base class: subclasses turn their Python value into bytes and back."""

    allowed_lookups = frozenset({"isnull"})

    def to_bytes(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_bytes(self, raw: bytes) -> Any:
        raise NotImplementedError

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return crypto.encrypt(self.to_bytes(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self.from_bytes(crypto.decrypt(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in self.allowed_lookups:
            raise FieldError(
                f"Encrypted field {self.name!r} cannot be queried with {lookup_name!r}"
            )
        return super().get_lookup(lookup_name)

    def value_to_string(self, obj: models.Model) -> str:
        # Fixtures and dumpdata see the plaintext only through an explicit export.
        return str(self.value_from_object(obj))


class EncryptedTextField(EncryptedField):
    def to_bytes(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def from_bytes(self, raw: bytes) -> str:
        return raw.decode("utf-8")


class EncryptedDateField(EncryptedField):
    def to_python(self, value: Any) -> datetime.date | None:
        if isinstance(value, str) and value:
            return datetime.date.fromisoformat(value)
        return value

    def to_bytes(self, value: Any) -> bytes:
        return self.to_python(value).isoformat().encode("ascii")

    def from_bytes(self, raw: bytes) -> datetime.date:
        return datetime.date.fromisoformat(raw.decode("ascii"))

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return super(models.TextField, self).formfield(**{"form_class": forms.DateField, **kwargs})


class EncryptedJSONField(EncryptedField):
    def to_bytes(self, value: Any) -> bytes:
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True).encode("utf-8")

    def from_bytes(self, raw: bytes) -> Any:
        return json.loads(raw)


class EncryptedBinaryField(EncryptedField):
    """For raw bytes that must be kept exactly (a webhook body, whose signature covers them)."""

    def to_bytes(self, value: Any) -> bytes:
        return bytes(value)

    def from_bytes(self, raw: bytes) -> bytes:
        return raw


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]


class PrivateFileNameField(models.CharField):
    """The server-generated name of an encrypted file in private storage (core.uploads).

    The name itself is random and says nothing; the file's bytes are a Fernet token under the
    same keys as the encrypted columns, and `rotate_encryption_keys` finds files by this type.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)


def private_file_fields(model: type[models.Model]) -> list[PrivateFileNameField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, PrivateFileNameField)]
