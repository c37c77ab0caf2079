"""django-prometheus's After middleware, with every method label taken from a fixed set.

Upstream labels its latency histogram with the raw request method, so a client could mint a
new series (and, under gunicorn, new file entries) per made-up method: `BREW /`, `X1 /`...
Every other request metric already maps an unknown method to "<invalid method>"; this does
the same for all of them. Views are labelled by URL pattern name, never by path.
"""

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django_prometheus.middleware import PrometheusAfterMiddleware


class RequestMetricsAfterMiddleware(PrometheusAfterMiddleware):  # type: ignore[misc]
    def label_metric(
        self,
        metric: Any,
        request: HttpRequest,
        response: HttpResponseBase | None = None,
        **labels: str,
    ) -> Any:
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)
