"""Every text-like column of our models is either encrypted or declared here as plaintext on
purpose (ids, statuses, codes, questionnaire wording, errors without patient values). A new
plaintext column fails this test until someone decides, in review, that it holds no health
information. What must never be plain: answers and what they reveal (which questions were
shown, what stopped an intake), identity, clinician words, messages, prescriptions, bodies."""

from django.apps import apps
from django.db import models

from core.fields import EncryptedField

OUR_APPS = {
    "accounts",
    "core",
    "patients",
    "intake",
    "cases",
    "webhooks",
    "payments",
    "mdi_sandbox",
}
TEXT_LIKE = (
    models.CharField, models.TextField, models.JSONField, models.BinaryField, models.DateField,
    models.GenericIPAddressField,
)  # fmt: skip

# fmt: off
DECLARED_PLAINTEXT = {
    # Staff audit trail: who looked at which record, by id and path (no values).
    "core.AccessLog": {
        "action", "object_type", "object_id", "path", "ip_address", "role", "screen",
    },
    # Security events: a kind, a keyed hash of a typed email (never the email), a model label
    # or refusal reason as the detail.
    "core.SecurityEvent": {"kind", "username_hash", "ip_address", "path", "detail"},
    # Retention runs: a kind and counts.
    "core.PurgeLog": {"kind"},
    # The login: the email is the searchable identifier (a requested new one waits beside
    # it until confirmed); the password is a hash.
    "accounts.User": {"password", "email", "pending_email"},
    # A two-letter state (eligibility, reporting) and MDI's id.
    "patients.Patient": {"state_of_residence", "mdi_patient_id"},
    "patients.IdentityDocument": {"kind", "stored_name", "mime_type", "mdi_file_id"},
    "patients.StateWaitlistEntry": {"email", "state"},
    # Questionnaire wording is the product, not a patient's data.
    "intake.Questionnaire": {"slug", "url", "title"},
    # Codes, variables and kept FHIR extensions describe the questionnaire, never a patient.
    "intake.QuestionnaireVersion": {
        "title",
        "description",
        "status",
        "variables",
        "codes",
        "extensions",
        "element_extensions",
    },
    "intake.Item": {
        "link_id",
        "type",
        "prefix",
        "text",
        "help_text",
        "min_value",
        "max_value",
        "allowed_mime_types",
        "enable_behavior",
        "disqualifying_answer",
        "disqualifying_explanation",
        # SDC expressions, variables and score bands: the instrument's rules, not answers.
        "calculated_expression",
        "enable_when_expression",
        "variables",
        "score_bands",
        # initial values are the author's defaults; a patient's answer is in the response
        "codes",
        "initial",
        "entry_format",
        "item_control",
        "units",
        "extensions",
        "element_extensions",
    },
    "intake.AnswerOption": {"code", "display", "kind", "system", "extensions"},
    "intake.EnableWhen": {"question", "operator", "answer"},
    # Which *steps* are done (every patient has the same steps); answers are encrypted.
    # The digest of the submitted content survives a purge; a hash reveals no answer.
    "intake.QuestionnaireResponse": {"status", "completed_steps", "content_sha256"},
    "intake.ResponseAttachment": {"link_id", "stored_name", "mime_type", "mdi_file_id"},
    # The public catalogue: its one-line description is marketing copy, not PHI.
    "cases.Offering": {"name", "mdi_offering_id", "questionnaire_slug", "currency", "description"},
    "cases.Case": {
        "submission_status",
        "submission_error",
        "mdi_case_id",
        "status",
        "cancelled_by",
        "review_event_key",
    },
    "cases.Prescription": {"status", "mdi_order_status", "tracking_number", "carrier"},
    "cases.CaseTimelineEntry": {
        "subject",
        "event_type",
        "outcome",
        "from_status",
        "to_status",
        "reported_status",
        "note",
    },
    "cases.DuplicateMdiCase": {"mdi_case_id", "found_by", "cancel_error"},
    "cases.Notification": {"key", "kind", "channel", "status", "last_error"},
    "cases.CaseMessage": {
        "mdi_message_id",
        "direction",
        "sender",
        "status",
        "photo_stored_name",
        "photo_mime_type",
        "mdi_file_id",
        "send_error",
    },
    "cases.ActionRequest": {"kind", "stored_name", "mime_type", "mdi_file_id", "upload_error"},
    # The webhook log: routing columns only; bodies and looked-up context are encrypted.
    "webhooks.WebhookDelivery": {"provider", "client_ip", "headers", "outcome", "failure_reason"},
    "webhooks.WebhookEvent": {
        "provider",
        "event_key",
        "event_type",
        "external_id",
        "reference",
        "status",
        "outcome_note",
        "last_error",
    },
    # Payments: processor ids, the last four card digits, statuses; no clinical wording.
    "payments.Payment": {
        "currency",
        "gateway",
        "checkout_session_id",
        "checkout_url",
        "gateway_payment_id",
        "card_last4",
        "status",
        "failure_reason",
        "release_error",
        "capture_error",
    },
    "payments.PaymentHistory": {"from_status", "to_status", "note"},
    "payments.SandboxCheckout": {
        "session_id",
        "currency",
        "description",
        "reference",
        "success_url",
        "cancel_url",
        "status",
        "authorization_id",
        "decline_reason",
    },
    "payments.SandboxAuthorization": {"authorization_id", "currency", "card_last4", "status"},
    "payments.SandboxIdempotencyKey": {"key", "operation", "result", "error"},
    "mdi_sandbox.SandboxFile": {"file_id", "name", "type", "mime_type"},
    "mdi_sandbox.SandboxPatient": {"patient_id", "email_digest"},
    "mdi_sandbox.SandboxCase": {
        "case_id",
        "metadata",
        "status",
        "file_ids",
        "order_status",
        "tracking_number",
    },
    "mdi_sandbox.SandboxCaseStatus": {"name", "user_type"},
    "mdi_sandbox.SandboxMessage": {"channel", "user_type"},
    "mdi_sandbox.SandboxWebhook": {"event_type", "error"},
}
# fmt: on


def _plaintext_columns() -> dict[str, set[str]]:
    found = {}
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        plain = {
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, TEXT_LIKE)
            and not isinstance(field, (EncryptedField, models.DateTimeField))
        }
        if plain:
            found[model._meta.label] = plain
    return found


def test_every_plaintext_column_is_declared_and_nothing_declared_is_stale():
    assert _plaintext_columns() == DECLARED_PLAINTEXT


def test_the_health_facts_the_review_found_in_plaintext_are_encrypted():
    for label, name in [
        ("intake.QuestionnaireResponse", "answer_order"),
        ("intake.QuestionnaireResponse", "stopped_by_link_id"),
        ("cases.Case", "decline_reason"),
    ]:
        assert isinstance(apps.get_model(label)._meta.get_field(name), EncryptedField)
