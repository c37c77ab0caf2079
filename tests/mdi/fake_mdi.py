"""A fake MDI behind a real httpx transport, written from the reference (§2-§5), that fails
the way a real server does: before acting, or after acting with the reply lost.

Faults are queued per operation and used up one request at a time:

    fake.fail("case_create", "timeout_after", "500_after")

- before MDI acts: "connect_refused", "timeout_before" (connect timeout), "429", "503_retry"
  (503 with Retry-After), "500_before", "418";
- after MDI acts: "timeout_after" (read timeout), "reset_after" (connection reset),
  "500_after", "html_after" (a proxy's non-JSON 200);
- "422": MDI refuses the request (validation);
- "late": MDI accepts the request, the reply times out, and the object appears only when the
  test calls `fake.land_late()` (after our reconciliation looked and found nothing).
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from cases.mdi_client import MdiClient

BASE_URL = "https://mdi.test"
ACTING_FAULTS = {"timeout_after", "reset_after", "500_after", "html_after"}
NOT_ACTING_FAULTS = {"connect_refused", "timeout_before", "429", "503_retry", "500_before", "418"}
REFUSALS = {"422"}  # MDI validated the request and said no
ALL_FAULTS = sorted(ACTING_FAULTS | NOT_ACTING_FAULTS)


@dataclass
class FakeCase:
    case_id: str
    patient_id: str
    metadata: str
    payload: dict[str, Any]
    status: str = "created"
    history: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class FakeMdi:
    def __init__(self) -> None:
        self.patients: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.cases: dict[str, FakeCase] = {}
        # patient id -> that patient's messages (channel "patient"), oldest first
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.message_bodies: list[dict[str, Any]] = []  # each POSTed message body, as sent
        self.requests: list[str] = []  # "POST /v1/partner/cases" ... in the order received
        self.faults: dict[str, list[str]] = {}
        self.late: list[tuple[str, dict[str, Any]]] = []
        self.transport = httpx.MockTransport(self._handle)

    # --- test controls -----------------------------------------------------------------------
    def fail(self, operation: str, *faults: str) -> None:
        self.faults.setdefault(operation, []).extend(faults)

    def land_late(self) -> list[str]:
        """MDI finishes the creates it accepted while our client had given up on them."""
        created = [self._perform(operation, body) for operation, body in self.late]
        self.late.clear()
        return created

    def active_cases_for(self, metadata: str) -> list[FakeCase]:
        return [
            c for c in self.cases.values() if c.metadata == metadata and c.status != "cancelled"
        ]

    def add_case(self, case_id: str, *, metadata: str = "", patient_id: str = "") -> FakeCase:
        """A case MDI holds that this fake did not create (e.g. one a test links by hand)."""
        case = FakeCase(case_id, patient_id, metadata, {})
        self._set_status(case, "created", "", "App\\Models\\Partner")
        return self.cases.setdefault(case_id, case)

    def cancels(self, case_id: str, *, reason: str, by: str = "Clinician") -> None:
        """MDI's clinician (or "Support", "Partner") cancels the case, as its status history
        then reports it; a case this fake did not create is added for the purpose."""
        case = self.cases.setdefault(case_id, FakeCase(case_id, "", "", {}))
        self._set_status(case, "cancelled", reason, f"App\\Models\\{by}")

    def add_message(
        self, patient_id: str, text: str, *, by: str = "Clinician", message_id: str = ""
    ) -> str:
        """A message MDI holds for the patient (by "Clinician", "Support" or "Patient")."""
        message_id = message_id or self._new_id()
        self.messages.setdefault(patient_id, []).append(
            {
                "id": message_id,
                "text": text,
                "user_type": f"App\\Models\\{by}",
                "channel": "patient",
                "created_at": datetime.now(UTC).isoformat(),
                "files": [],
            }
        )
        return message_id

    # --- HTTP --------------------------------------------------------------------------------
    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if path == "/v1/partner/auth/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        if request.headers.get("Authorization") != "Bearer tok":
            return httpx.Response(401, json={"message": "Unauthenticated."})
        operation = self._operation(request.method, path)
        fault = self.faults.get(operation, []) and self.faults[operation].pop(0)
        if fault:
            before = self._fault_before(fault, request)
            if before is not None:
                return before
        body = self._body(request)
        if operation == "message_send":
            self.message_bodies.append(dict(body))
            body["patient_id"] = path.split("/")[4]  # the route names the patient, not the body
        if fault == "late":
            self.late.append((operation, body))
            raise httpx.ReadTimeout("reply lost; MDI will finish later", request=request)
        response = self._route(request.method, path, operation, body)
        if fault and response.status_code < 300:
            return self._fault_after(fault, request)
        return response

    @staticmethod
    def _operation(method: str, path: str) -> str:
        parts = path.removeprefix("/v1/partner/").split("/")
        if method == "POST" and parts == ["patients"]:
            return "patient_create"
        if method == "POST" and parts == ["files"]:
            return "file_upload"
        if method == "POST" and parts == ["cases"]:
            return "case_create"
        if parts[0] == "patients" and parts[-1] == "cases":
            return "patient_cases"
        if parts[-1] == "search":
            return "patient_search"
        if parts[0] == "cases" and parts[-1] == "cancel":
            return "case_cancel"
        if parts[0] == "patients" and parts[-1] == "messages":
            return "message_send" if method == "POST" else "patient_messages"
        return f"{method} {parts[0]}"

    @staticmethod
    def _fault_before(fault: str, request: httpx.Request) -> httpx.Response | None:
        if fault == "connect_refused":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "timeout_before":
            raise httpx.ConnectTimeout("connect timeout", request=request)
        if fault == "429":
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "Slow"})
        if fault == "503_retry":
            return httpx.Response(503, headers={"Retry-After": "2"}, text="maintenance")
        if fault == "500_before":
            return httpx.Response(500, json={"message": "Server Error"})
        if fault == "418":
            return httpx.Response(418, json={"message": "Maintenance"})
        if fault == "422":
            return httpx.Response(422, json={"message": "The selected offering id is invalid."})
        return None

    @staticmethod
    def _fault_after(fault: str, request: httpx.Request) -> httpx.Response:
        if fault == "timeout_after":
            raise httpx.ReadTimeout("read timeout", request=request)
        if fault == "reset_after":
            raise httpx.RemoteProtocolError("connection reset by peer", request=request)
        if fault == "500_after":
            return httpx.Response(500, json={"message": "Server Error"})
        return httpx.Response(200, text="<html>502 Bad Gateway</html>")  # html_after

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            text = request.content.decode("latin-1")
            file_type = text.split('name="type"\r\n\r\n', 1)[1].split("\r\n", 1)[0]
            return {"type": file_type, "size": len(request.content)}
        return json.loads(request.content or b"{}")

    @staticmethod
    def _new_id() -> str:
        return str(uuid.uuid4())

    def _perform(self, operation: str, body: dict[str, Any]) -> str:
        new_id = self._new_id()
        if operation == "patient_create":
            self.patients[new_id] = dict(body)
        elif operation == "file_upload":
            self.files[new_id] = body
        elif operation == "message_send":
            messages = self.messages.setdefault(body["patient_id"], [])
            messages.append(
                {
                    "id": new_id,
                    "text": body.get("text", ""),
                    "user_type": "App\\Models\\Patient",
                    "channel": body.get("channel"),
                    "created_at": datetime.now(UTC).isoformat(),
                    "files": [f["id"] for f in body.get("files", [])],
                }
            )
        else:
            case = FakeCase(new_id, body["patient_id"], str(body.get("metadata", "")), body)
            self._set_status(case, "created", "", "App\\Models\\Partner")
            self.cases[new_id] = case
        return new_id

    def _set_status(self, case: FakeCase, name: str, reason: str, user_type: str) -> None:
        case.status = name
        case.history.append({"name": name, "reason": reason or None, "user_type": user_type})

    def _case_json(self, case: FakeCase) -> dict[str, Any]:
        return {
            "case_id": case.case_id,
            "metadata": case.metadata,
            "case_status": {"name": case.status, "reason": None},
        }

    def _message(self, patient_id: str, message_id: str) -> dict[str, Any]:
        return next(m for m in self.messages[patient_id] if m["id"] == message_id)

    def _route(
        self, method: str, path: str, operation: str, body: dict[str, Any]
    ) -> httpx.Response:
        parts = path.removeprefix("/v1/partner/").split("/")
        if operation == "patient_create":
            email = str(body.get("email", "")).lower()
            if any(str(p["email"]).lower() == email for p in self.patients.values()):
                return httpx.Response(400, json={"message": "ERROR_PATIENT_EMAIL_ALREADY_TAKEN"})
            return httpx.Response(201, json={"patient_id": self._perform(operation, body)})
        if operation == "patient_search":
            term = str(body.get("search", "")).lower()
            found = [
                {"patient_id": pid, **p}
                for pid, p in self.patients.items()
                if str(p["email"]).lower() == term
            ]
            return httpx.Response(200, json=found)
        if method == "PATCH" and parts[0] == "patients" and parts[1] in self.patients:
            self.patients[parts[1]].update(body)
            return httpx.Response(200, json={"patient_id": parts[1], **self.patients[parts[1]]})
        if operation == "file_upload":
            return httpx.Response(201, json={"file_id": self._perform(operation, body)})
        if operation == "case_create":
            problems = [f for f in body.get("case_files", []) if f not in self.files]
            if body.get("patient_id") not in self.patients or problems:
                return httpx.Response(422, json={"message": "The given data was invalid."})
            return httpx.Response(201, json={"case_id": self._perform(operation, body)})
        if operation == "message_send":
            unknown = [f for f in body.get("files", []) if f.get("id") not in self.files]
            if body.get("channel") != "patient" or not body.get("text") or unknown:
                return httpx.Response(422, json={"message": "The given data was invalid."})
            new_id = self._perform(operation, body)
            return httpx.Response(201, json=self._message(body["patient_id"], new_id))
        if operation == "patient_messages":
            rows = [m for m in self.messages.get(parts[1], []) if m["channel"] == "patient"]
            return httpx.Response(200, json={"current_page": 1, "last_page": 1, "data": rows})
        if operation == "patient_cases":
            rows = [self._case_json(c) for c in self.cases.values() if c.patient_id == parts[1]]
            return httpx.Response(200, json={"current_page": 1, "last_page": 1, "data": rows})
        case = self.cases.get(parts[1]) if parts[0] == "cases" and len(parts) > 1 else None
        if case is None:
            return httpx.Response(404, json={"message": "Resource not found."})
        if operation == "case_cancel":
            if case.status == "cancelled":
                return httpx.Response(422, json={"message": "The case is already cancelled."})
            self._set_status(case, "cancelled", body.get("reason", ""), "App\\Models\\Partner")
            return httpx.Response(200, json=self._case_json(case))
        if method == "POST" and parts[2:3] == ["files"]:
            if parts[3] not in self.files:
                return httpx.Response(404, json={"message": "Resource not found."})
            case.files.append(parts[3])
            return httpx.Response(200, json=self._case_json(case))
        if parts[-1] == "statuses":
            return httpx.Response(200, json=case.history)
        return httpx.Response(200, json=self._case_json(case))


def client_for(fake: FakeMdi) -> MdiClient:
    """A real MdiClient on the fake's transport that never sleeps between retries."""
    return MdiClient(
        base_url=BASE_URL,
        client_id="fake-client",
        client_secret="fake-secret",
        transport=fake.transport,
        sleep=lambda _seconds: None,
    )
