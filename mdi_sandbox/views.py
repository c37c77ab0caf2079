"""The clinician console: staff press the buttons a real clinician and pharmacy would."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mdi_sandbox.models import SandboxCase, SandboxWebhook
from mdi_sandbox.services import ACTIONS, sandbox_case_act, sandbox_chaos, sandbox_deliver_held

CHAOS = {"send_twice", "reverse_last", "bad_signature", "redeliver_later"}


@staff_member_required
def console(request: HttpRequest) -> HttpResponse:
    cases = SandboxCase.objects.select_related("patient").prefetch_related("webhooks")[:50]
    held = SandboxWebhook.objects.filter(is_held=True).count()
    return render(
        request, "mdi_sandbox/console.html", {"cases": cases, "held": held, "actions": ACTIONS}
    )


@staff_member_required
@require_POST
def act(request: HttpRequest, case_id: str) -> HttpResponse:
    case = get_object_or_404(SandboxCase, case_id=case_id)
    action = request.POST.get("action", "")
    if action in ACTIONS or action == "message":
        hooks = sandbox_case_act(
            case=case,
            action=action,
            text=request.POST.get("text", ""),
            tracking_number=request.POST.get("tracking_number", ""),
        )
    elif action in CHAOS:
        hooks = sandbox_chaos(case=case, kind=action, count=int(request.POST.get("count") or 3))
    else:
        messages.error(request, "Unknown action.")
        return redirect("mdi_sandbox:console")
    sent = ", ".join(f"{h.event_type}" for h in hooks) or "nothing to send"
    messages.success(request, f"Sent: {sent}.")
    return redirect("mdi_sandbox:console")


@staff_member_required
@require_POST
def deliver_held(request: HttpRequest) -> HttpResponse:
    hooks = sandbox_deliver_held()
    messages.success(request, f"Delivered {len(hooks)} held webhook(s).")
    return redirect("mdi_sandbox:console")
