"""The clinician console: the buttons a real clinician and pharmacy would press.

Only holders of mdi_sandbox.act_as_clinician (the "Sandbox clinicians" group) may use it:
being staff is not enough, since a medical advisor or support agent pressing "approve" would be
acting as a prescriber they are not.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from mdi_sandbox.models import SandboxCase, SandboxWebhook
from mdi_sandbox.services import ACTIONS, sandbox_case_act, sandbox_chaos, sandbox_deliver_held

PERMISSION = "mdi_sandbox.act_as_clinician"
CHAOS = {"send_twice", "reverse_last", "bad_signature", "redeliver_later"}
MAX_REVERSE = 10


def _count(raw: str) -> int | None:
    """The "last N" of the reverse chaos button; None when it is not 1..MAX_REVERSE (a negative
    slice would silently re-send the wrong events)."""
    if not raw.strip():
        return 3
    try:
        count = int(raw)
    except ValueError:
        return None
    return count if 1 <= count <= MAX_REVERSE else None


def clinician_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to sign in; signed-in users without the permission get 403."""
    return login_required(permission_required(PERMISSION, raise_exception=True)(view))


@clinician_required
def console(request: HttpRequest) -> HttpResponse:
    cases = SandboxCase.objects.select_related("patient").prefetch_related("webhooks")[:50]
    held = SandboxWebhook.objects.filter(is_held=True).count()
    # The partner credentials, for driving the API by hand (docs/mdi.md): only ever shown to
    # the sandbox clinicians this view already admits.
    credentials = {
        "api_base_url": settings.MDI_API_BASE_URL,
        "client_id": settings.MDI_CLIENT_ID,
        "client_secret": settings.MDI_CLIENT_SECRET,
        "file": settings.MDI_SANDBOX_CREDENTIALS_FILE,
    }
    return render(
        request,
        "mdi_sandbox/console.html",
        {"cases": cases, "held": held, "actions": ACTIONS, "credentials": credentials},
    )


@clinician_required
@require_POST
def act(request: HttpRequest, case_id: str) -> HttpResponse:
    case = get_object_or_404(SandboxCase, case_id=case_id)
    action = request.POST.get("action", "")
    if action in ACTIONS or action == "message":
        try:
            hooks = sandbox_case_act(
                case=case,
                action=action,
                text=request.POST.get("text", ""),
                tracking_number=request.POST.get("tracking_number", ""),
            )
        except DomainError as refusal:
            messages.error(request, str(refusal))
            return redirect("mdi_sandbox:console")
    elif action in CHAOS:
        count = _count(request.POST.get("count", ""))
        if count is None:
            messages.error(request, f"How many must be a whole number from 1 to {MAX_REVERSE}.")
            return redirect("mdi_sandbox:console")
        hooks = sandbox_chaos(case=case, kind=action, count=count)
    else:
        messages.error(request, "Unknown action.")
        return redirect("mdi_sandbox:console")
    sent = ", ".join(f"{h.event_type}" for h in hooks) or "nothing to send"
    messages.success(request, f"Sent: {sent}.")
    return redirect("mdi_sandbox:console")


@clinician_required
@require_POST
def deliver_held(request: HttpRequest) -> HttpResponse:
    hooks = sandbox_deliver_held()
    messages.success(request, f"Delivered {len(hooks)} held webhook(s).")
    return redirect("mdi_sandbox:console")
