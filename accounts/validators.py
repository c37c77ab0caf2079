"""Password rules Django's own validators miss."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class VarietyPasswordValidator:
    """Refuses a password that is blank once stripped or uses too few distinct characters.

    Ten spaces or "aaaaaaaaaa" pass the length rule but not any guesser: the minimum length
    only means something when the characters vary.
    """

    def __init__(self, min_distinct: int = 4) -> None:
        self.min_distinct = min_distinct

    def validate(self, password: str, user: object = None) -> None:
        if not password.strip():
            raise ValidationError(
                _("This password is only spaces. Choose one with letters, numbers or symbols."),
                code="password_blank",
            )
        if len(set(password)) < self.min_distinct:
            raise ValidationError(
                _("This password uses too few different characters. Use at least %(min)d.")
                % {"min": self.min_distinct},
                code="password_too_repetitive",
            )

    def get_help_text(self) -> str:
        return _("Your password must use at least %(min)d different characters.") % {
            "min": self.min_distinct
        }
