"""An in-memory MDI behind the MdiGateway Protocol, able to crash after doing the work."""

import itertools
from typing import Any

from cases.gateway import MdiPatientEmailTaken
from core.exceptions import TransientError


class LostReply(TransientError):
    """MDI did the work, but the reply never reached us (timeout, dropped connection)."""


class FakeMdi:
    def __init__(self) -> None:
        self.patients: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.cases: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.lose_reply_of: set[str] = set()  # operation names whose next reply is lost
        self.down = False
        self._ids = itertools.count(1)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _finish(self, operation: str, value: str) -> str:
        if operation in self.lose_reply_of:
            self.lose_reply_of.discard(operation)
            raise LostReply(f"{operation}: reply lost")
        return value

    def _check_up(self, operation: str) -> None:
        self.calls.append(operation)
        if self.down:
            raise TransientError("MDI is in maintenance (418)")

    def patient_create(self, *, payload: dict[str, Any]) -> str:
        self._check_up("patient_create")
        if any(p["email"] == payload["email"] for p in self.patients.values()):
            raise MdiPatientEmailTaken(
                status=400, message="ERROR_PATIENT_EMAIL_ALREADY_TAKEN", path="/v1/partner/patients"
            )
        patient_id = self._new_id("patient")
        self.patients[patient_id] = payload
        return self._finish("patient_create", patient_id)

    def patient_find_by_email(self, *, email: str) -> str | None:
        self._check_up("patient_find_by_email")
        return next((pid for pid, p in self.patients.items() if p["email"] == email), None)

    def file_upload(self, *, content: bytes, name: str, mime_type: str, file_type: str) -> str:
        self._check_up("file_upload")
        file_id = self._new_id("file")
        self.files[file_id] = {
            "name": name,
            "type": file_type,
            "mime_type": mime_type,
            "size": len(content),
        }
        return self._finish("file_upload", file_id)

    def case_create(self, *, payload: dict[str, Any]) -> str:
        self._check_up("case_create")
        case_id = self._new_id("case")
        self.cases[case_id] = payload
        return self._finish("case_create", case_id)

    def patient_case_ids_by_metadata(self, *, patient_id: str) -> dict[str, str]:
        self._check_up("patient_case_ids_by_metadata")
        return {
            c["metadata"]: cid for cid, c in self.cases.items() if c["patient_id"] == patient_id
        }
