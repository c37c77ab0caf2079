from django import forms

from cases.services.messages import MESSAGE_MAX_LENGTH


class CaseMessageForm(forms.Form):
    text = forms.CharField(
        label="Your message",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # Checked by its bytes in the service (core.uploads), never by its name or content type.
    photo = forms.FileField(label="Add a photo (optional)", required=False)


class ActionUploadForm(forms.Form):
    file = forms.FileField(label="Photo")
