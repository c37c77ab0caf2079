"""A model used only by the encryption tests; its table is created inside the test."""

from django.db import models

from core.fields import EncryptedDateField, EncryptedJSONField, EncryptedTextField


class EncryptedThing(models.Model):
    note = EncryptedTextField(null=True)
    born_on = EncryptedDateField(null=True)
    answers = EncryptedJSONField(null=True)

    class Meta:
        app_label = "core"
        managed = False
        db_table = "test_encrypted_thing"
