"""A request id on every log line of a request, echoed to the caller, and carried into the
Celery tasks the request enqueues (django-guid); production logs are JSON."""

import json
import logging
import uuid

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_valid_incoming_request_id_is_used_and_returned(client):
    given = str(uuid.uuid4())
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID=given)
    assert response["X-Request-ID"] == given


def test_a_made_up_request_id_is_replaced_by_a_fresh_one(client):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="<script>")
    returned = response["X-Request-ID"]
    assert returned != "<script>"
    uuid.UUID(returned)  # a UUID of ours


def test_log_lines_of_a_request_carry_its_id(client, settings):
    from django_guid.log_filters import CorrelationId

    class Capture(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.ids: list[str] = []
            self.addFilter(CorrelationId())  # as the console handler has it

        def emit(self, record: logging.LogRecord) -> None:
            self.ids.append(record.correlation_id)

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # readyz logs the broker as unavailable
    capture = Capture()
    logger = logging.getLogger("core.views")
    logger.addHandler(capture)
    given = str(uuid.uuid4())
    try:
        client.get(reverse("readyz"), HTTP_X_REQUEST_ID=given)
    finally:
        logger.removeHandler(capture)
    assert capture.ids
    assert set(capture.ids) == {given}


def test_a_task_published_during_a_request_carries_its_id_in_the_headers():
    from celery.signals import before_task_publish
    from django_guid import set_guid

    given = uuid.uuid4().hex
    set_guid(given)
    headers: dict = {}
    before_task_publish.send(sender="cases.tasks.case_send_to_mdi_task", headers=headers)
    assert headers["X-Request-ID"] == given


def test_production_logs_are_one_json_object_per_line():
    from pythonjsonlogger.json import JsonFormatter

    from config.settings import base

    spec = base.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(*[], **{k: v for k, v in spec.items() if k != "()"})
    record = logging.LogRecord("cases", logging.INFO, __file__, 1, "sent case %s", (7,), None)
    record.correlation_id = "abc"
    line = json.loads(formatter.format(record))
    assert (line["message"], line["correlation_id"], line["levelname"]) == (
        "sent case 7",
        "abc",
        "INFO",
    )
