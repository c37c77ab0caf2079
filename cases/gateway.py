"""What case submission needs from MDI, as a Protocol, and its adapter over the HTTP client.

Keeping submission against this small surface means its idempotency rules can be tested step
by step with a crash injected anywhere (tests use an in-memory fake behind the same Protocol).
"""

from typing import Any, Protocol

from cases.mdi_client import MdiClient, MdiPatientEmailTaken

__all__ = ["HttpMdiGateway", "MdiGateway", "MdiPatientEmailTaken", "mdi_gateway"]


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


class HttpMdiGateway:
    def __init__(self, client: MdiClient | None = None) -> None:
        self.client = client or MdiClient()

    def patient_create(self, *, payload: dict[str, Any]) -> str:
        return self.client.patient_create(payload=payload)

    def patient_find_by_email(self, *, email: str) -> str | None:
        for patient in self.client.patient_search(search=email):
            if str(patient.get("email", "")).lower() == email.lower():
                return str(patient["patient_id"])
        return None

    def file_upload(self, *, content: bytes, name: str, mime_type: str, file_type: str) -> str:
        return self.client.file_upload(
            content=content, name=name, mime_type=mime_type, file_type=file_type
        )

    def case_create(self, *, payload: dict[str, Any]) -> str:
        return self.client.case_create(payload=payload)

    def patient_case_ids_by_metadata(self, *, patient_id: str) -> dict[str, str]:
        return {
            str(case.get("metadata")): str(case["case_id"])
            for case in self.client.patient_cases(patient_id=patient_id)
            if case.get("metadata")
        }


def mdi_gateway() -> MdiGateway:
    return HttpMdiGateway()
