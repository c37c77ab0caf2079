import datetime
import re

from django import forms
from django.conf import settings
from django.utils import timezone

from patients.limits import MDI_ADDRESS_LINE_MAX, MDI_CITY_MAX, MDI_NAME_MAX
from patients.models import SexAtBirth
from patients.states import US_STATES

STATE_CHOICES = [("", "Choose your state")] + [(code, name) for code, name in US_STATES.items()]


class EligibilityForm(forms.Form):
    state = forms.ChoiceField(label="State of residence", choices=STATE_CHOICES)
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        help_text="You must be 18 or older.",
    )

    def clean_date_of_birth(self) -> datetime.date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("Your date of birth can't be in the future.")
        if born.year < today.year - 120:
            raise forms.ValidationError("Please check the year of your date of birth.")
        return born


class WaitlistForm(forms.Form):
    """Only the state: the list always uses the signed-in account's own email, so nobody can
    sign other people's addresses up for our emails."""

    state = forms.ChoiceField(choices=STATE_CHOICES, widget=forms.HiddenInput)


PHONE_DIGITS = re.compile(r"\d")


def us_phone_digits(value: str) -> str:
    """The 10 digits of a US number however it was typed; ValidationError otherwise."""
    digits = "".join(PHONE_DIGITS.findall(value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise forms.ValidationError("Please enter a 10-digit US phone number, like 415 555 0123.")
    return digits


# Shown beside a field longer than MD Integrations accepts (patients/limits.py). The value stays
# in the field and is never cut: a cut street name ships to the wrong address, so the patient
# chooses how to shorten it.
# "%(show_value)d" is filled by Django's max-length check with the length that was entered.
YOU_ENTERED = " You entered %(show_value)d."
NAME_TOO_LONG = (
    f"Our clinical partner accepts at most {MDI_NAME_MAX} characters for a name. "
    "Please enter it as it appears on your ID, within that limit." + YOU_ENTERED
)
ADDRESS_LINE1_TOO_LONG = (
    f"Our clinical partner accepts at most {MDI_ADDRESS_LINE_MAX} characters here. "
    "Put the rest (apartment, suite, building) on the second address line." + YOU_ENTERED
)
ADDRESS_LINE2_TOO_LONG = (
    f"Our clinical partner accepts at most {MDI_ADDRESS_LINE_MAX} characters on the second "
    'address line. Please shorten it, for example "Apt" for "Apartment".' + YOU_ENTERED
)
CITY_TOO_LONG = (
    f"Our clinical partner accepts at most {MDI_CITY_MAX} characters for the city. "
    "Please use the shortest name your post office accepts." + YOU_ENTERED
)


class IdentityForm(forms.Form):
    legal_first_name = forms.CharField(
        label="Legal first name",
        max_length=MDI_NAME_MAX,
        error_messages={"max_length": NAME_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    legal_last_name = forms.CharField(
        label="Legal last name",
        max_length=MDI_NAME_MAX,
        error_messages={"max_length": NAME_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    sex_at_birth = forms.ChoiceField(
        label="Sex assigned at birth", choices=SexAtBirth.choices, widget=forms.RadioSelect,
        help_text="Clinicians need this for dosing and safety; it is not shown to anyone else.",
    )  # fmt: skip
    phone = forms.CharField(
        label="Phone number", max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text="A US mobile number. Your clinician or pharmacy may call you.",
    )  # fmt: skip
    address_line1 = forms.CharField(
        label="Street address",
        max_length=MDI_ADDRESS_LINE_MAX,
        error_messages={"max_length": ADDRESS_LINE1_TOO_LONG},
        help_text=f"Up to {MDI_ADDRESS_LINE_MAX} characters. An apartment, suite or building "
        "goes on the next line.",
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line2 = forms.CharField(
        label="Apartment, suite (optional)",
        max_length=MDI_ADDRESS_LINE_MAX,
        error_messages={"max_length": ADDRESS_LINE2_TOO_LONG},
        help_text=f"Up to {MDI_ADDRESS_LINE_MAX} characters.",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label="City",
        max_length=MDI_CITY_MAX,
        error_messages={"max_length": CITY_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    address_state = forms.ChoiceField(
        label="State",
        choices=STATE_CHOICES,
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )
    zip_code = forms.RegexField(
        label="ZIP code", regex=r"^\d{5}(-\d{4})?$", max_length=10,
        error_messages={"invalid": "Please enter a 5-digit ZIP code."},
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )  # fmt: skip

    def __init__(self, *args: object, residence_state: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.residence_state = residence_state

    def clean_phone(self) -> str:
        return us_phone_digits(self.cleaned_data["phone"])

    def clean_address_state(self) -> str:
        state = self.cleaned_data["address_state"]
        # Prescriptions ship to where the clinician is licensed for the patient.
        if self.residence_state and state != self.residence_state:
            home = US_STATES.get(self.residence_state)
            raise forms.ValidationError(f"Treatment can only be shipped within {home}.")
        if state not in settings.SUPPORTED_STATES:
            raise forms.ValidationError("We can't ship to this state yet.")
        return state


class PhotoIdForm(forms.Form):
    photo_id = forms.FileField(
        label="Photo ID",
        help_text="A driver's license, state ID or passport. JPEG, PNG, HEIC or PDF, up to 10 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/heic,application/pdf"}
        ),
    )


class NotificationPreferenceForm(forms.Form):
    notify_by_email = forms.BooleanField(
        label="Email me when there is news about my visit",
        required=False,
        help_text="The email says only that there is an update, never what it is.",
    )
    notify_by_sms = forms.BooleanField(
        label="Text me when there is news about my visit", required=False
    )
    phone = forms.CharField(
        label="Mobile number", max_length=20, required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text="A US mobile number. It is also the number your clinician and pharmacy have.",
    )  # fmt: skip

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        return us_phone_digits(value) if value else ""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("notify_by_sms") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "Please enter the mobile number we should text.")
        return data
