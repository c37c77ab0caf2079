import datetime

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from core import crypto
from core.fields import EncryptedDateField, EncryptedJSONField, EncryptedTextField
from core.models import AccessLog
from tests.core.models_for_tests import EncryptedThing

# Creating the throw-away table needs DDL outside a test transaction (SQLite insists).
pytestmark = pytest.mark.django_db(transaction=True)

SECRET_TEXT = "history of melanoma"


def _raw_row(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT note, born_on, answers FROM {EncryptedThing._meta.db_table} WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


@pytest.fixture
def thing_table():
    with connection.schema_editor() as editor:
        editor.create_model(EncryptedThing)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(EncryptedThing)


def test_stored_columns_never_contain_the_plaintext(thing_table):
    thing = EncryptedThing.objects.create(
        note=SECRET_TEXT, born_on=datetime.date(1980, 2, 29), answers={"allergies": "penicillin"}
    )
    raw = " ".join(str(v) for v in _raw_row(thing.pk))
    for plaintext in (SECRET_TEXT, "melanoma", "1980-02-29", "penicillin", "allergies"):
        assert plaintext not in raw
    fresh = EncryptedThing.objects.get(pk=thing.pk)
    assert fresh.note == SECRET_TEXT
    assert fresh.born_on == datetime.date(1980, 2, 29)
    assert fresh.answers == {"allergies": "penicillin"}


def test_the_same_value_encrypts_differently_each_time(thing_table):
    a = EncryptedThing.objects.create(note=SECRET_TEXT)
    b = EncryptedThing.objects.create(note=SECRET_TEXT)
    assert _raw_row(a.pk)[0] != _raw_row(b.pk)[0]


def test_filtering_on_an_encrypted_value_fails_loudly_instead_of_matching_nothing(thing_table):
    with pytest.raises(FieldError):
        list(EncryptedThing.objects.filter(note=SECRET_TEXT))
    assert EncryptedThing.objects.filter(note__isnull=True).count() == 0


def test_rotation_old_rows_stay_readable_and_the_command_moves_them_to_the_new_key(
    thing_table, settings
):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    thing = EncryptedThing.objects.create(note=SECRET_TEXT, answers={"q": 1})

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert EncryptedThing.objects.get(pk=thing.pk).note == SECRET_TEXT  # read with the old key
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    fresh = EncryptedThing.objects.get(pk=thing.pk)
    assert fresh.note == SECRET_TEXT
    assert fresh.answers == {"q": 1}
    assert Fernet(new_key.encode()).decrypt(_raw_row(thing.pk)[0].encode()) == SECRET_TEXT.encode()


def test_a_row_under_a_key_that_is_no_longer_configured_is_an_error_not_garbage(
    thing_table, settings
):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    thing = EncryptedThing.objects.create(note=SECRET_TEXT)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as excinfo:
        EncryptedThing.objects.get(pk=thing.pk)
    assert SECRET_TEXT not in str(excinfo.value)


def test_no_keys_means_no_protected_writes(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt(b"x")


def test_field_classes_are_what_models_use():
    assert {EncryptedTextField, EncryptedDateField, EncryptedJSONField} <= {
        type(f) for f in EncryptedThing._meta.concrete_fields
    }
    assert AccessLog._meta.get_field("object_id").max_length == 64


def test_rotation_never_writes_back_a_value_read_before_a_concurrent_save(
    thing_table, settings, monkeypatch
):
    from django.db.models.query import QuerySet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    thing = EncryptedThing.objects.create(note=SECRET_TEXT)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    real_iterator = QuerySet.iterator

    def iterator_with_a_save_in_between(self, *args, **kwargs):
        for item in real_iterator(self, *args, **kwargs):
            # The running app saves the row after the command listed it, before it rewrote it.
            EncryptedThing.objects.filter(pk=thing.pk).update(note="saved meanwhile")
            yield item

    monkeypatch.setattr(QuerySet, "iterator", iterator_with_a_save_in_between)
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    monkeypatch.undo()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert EncryptedThing.objects.get(pk=thing.pk).note == "saved meanwhile"
