"""Staff roles are Django groups; their permissions are granted by each app's data migration."""

ADMINISTRATORS = "Administrators"
MEDICAL_ADVISORS = "Medical advisors"
SUPPORT_STAFF = "Support staff"
# Only where the MDI sandbox is installed: they press the clinician and pharmacy buttons.
SANDBOX_CLINICIANS = "Sandbox clinicians"

# Reading what a patient told the clinician (intake answers, the question that stopped an
# intake) is its own permission: viewing a response or a case does not include it.
VIEW_CLINICAL_ANSWERS = "intake.view_clinical_answers"
