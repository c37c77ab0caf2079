"""The sandbox processor's hosted checkout page (PAYMENTS_GATEWAY=sandbox only)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from payments.models import SandboxCheckout
from payments.money import money_display
from payments.sandbox import SandboxCardUnknown, sandbox_checkout_pay
from payments.selectors import sandbox_checkout_get_for_user


def _return_url(checkout: SandboxCheckout) -> str:
    separator = "&" if "?" in checkout.success_url else "?"
    return f"{checkout.success_url}{separator}session_id={checkout.session_id}"


@login_required
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    if settings.PAYMENTS_GATEWAY != "sandbox":
        raise Http404("No sandbox processor here")
    checkout = sandbox_checkout_get_for_user(user=request.user, session_id=session_id)
    error, card_number = "", ""
    if request.method == "POST" and checkout.status == "open":
        card_number = request.POST.get("card_number", "")
        try:
            checkout = sandbox_checkout_pay(session_id=session_id, card_number=card_number)
        except SandboxCardUnknown as exc:
            error = str(exc)
        else:
            return redirect(_return_url(checkout))
    context = {
        "checkout": checkout,
        "amount_display": money_display(amount=checkout.amount, currency=checkout.currency),
        "error": error,
        "card_number": card_number,
        "return_url": _return_url(checkout),
    }
    return render(request, "payments/sandbox_checkout.html", context, status=422 if error else 200)
