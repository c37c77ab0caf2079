"""What case submission needs from MDI, as a Protocol.

The HTTP client (cases/mdi/, issue 6) is adapted to this in `mdi_gateway()`; tests use an
in-memory fake. Keeping submission against this small surface means its idempotency rules can
be tested step by step with a crash injected anywhere.
"""

from typing import Any, Protocol

from core.exceptions import PermanentError


class MdiPatientEmailTaken(PermanentError):
    """MDI already has a patient with this email (ERROR_PATIENT_EMAIL_ALREADY_TAKEN)."""


class MdiGateway(Protocol):
    def patient_create(self, *, payload: dict[str, Any]) -> str:
        """Create the MDI patient; returns its id. Raises MdiPatientEmailTaken."""

    def patient_find_by_email(self, *, email: str) -> str | None:
        """The id of the MDI patient with exactly this email, if any."""

    def file_upload(self, *, content: bytes, name: str, mime_type: str, file_type: str) -> str:
        """Upload one file; returns its MDI file id."""

    def case_create(self, *, payload: dict[str, Any]) -> str:
        """Create the case; returns MDI's case id."""

    def patient_case_ids_by_metadata(self, *, patient_id: str) -> dict[str, str]:
        """The patient's MDI cases as {our metadata: MDI case id}, to reconcile a lost reply."""


def mdi_gateway() -> MdiGateway:
    """The configured gateway: the MDI HTTP client behind this Protocol."""
    from cases.mdi.gateway import HttpMdiGateway  # the client package, issue 6

    return HttpMdiGateway()
