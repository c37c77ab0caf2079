"""Staff roles are Django groups; their permissions are granted by each app's data migration."""

MEDICAL_ADVISORS = "Medical advisors"
SUPPORT_STAFF = "Support staff"
# Only where the MDI sandbox is installed: they press the clinician and pharmacy buttons.
SANDBOX_CLINICIANS = "Sandbox clinicians"
