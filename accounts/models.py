from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from patients.limits import MDI_EMAIL_MAX


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> "User":
        # Email is the login name and is matched case-insensitively.
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Patients and staff alike; a patient's identity lives in patients.Patient.

    Email is stored lower-cased, and a unique index on lower(email) makes a second account
    with the same address in another case impossible even if a code path forgets to normalise.
    """

    email = models.EmailField("email address", max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the owner follows the link we emailed. A case is never sent, nor a card held,
    # for an unverified address: anyone can type someone else's email at sign-up.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # A requested new address, kept until its owner confirms it from that inbox.
    pending_email = models.EmailField(max_length=254, blank=True)
    # Mirrors "has a confirmed authenticator device" (kept in step by accounts.signals), so
    # the per-request second-factor check reads the user row already loaded, not a query.
    two_factor_enabled = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django ends every session whose stored hash no longer matches: including the email
        # and the second factor makes a change of address, or turning two-step sign-in on,
        # sign out every other browser, as a password change does.
        key_salt = "accounts.User.get_session_auth_hash"
        state = f"{self.password}:{self.email}:{self.two_factor_enabled}"
        return salted_hmac(key_salt, state, secret=secret, algorithm="sha256").hexdigest()

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()
        # A patient's email is sent to MD Integrations, which accepts at most MDI_EMAIL_MAX
        # characters. Checked here too so admin forms and services refuse it, not only sign-up.
        # Staff are never sent, so the column keeps Django's 254 and needs no migration.
        if not self.is_staff and len(self.email) > MDI_EMAIL_MAX:
            raise ValidationError(
                {
                    "email": (
                        f"A patient's email address can be at most {MDI_EMAIL_MAX} characters: "
                        "our clinical partner accepts no more."
                    )
                }
            )
