from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class StaffAdminSite(OTPAdminSite):
    """Admin opens only to staff whose session a second factor has verified (OTPAdminSite).

    Instantiated as the default site (accounts.apps.StaffAdminConfig), named "admin".
    Sign-in goes through the one login page everyone uses (lockouts, throttles and the second
    step live there), never admin's own form."""

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)  # OTPAdminSite would name it "otpadmin": URLs say admin:

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Signed in but not staff (a patient): sending them to sign in would loop.
            raise PermissionDenied("This area is for staff.")
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect_to_login(next_url, reverse("accounts:login"))
