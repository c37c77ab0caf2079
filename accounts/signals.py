from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import mfa_flag_sync


@receiver([post_save, post_delete], sender=TOTPDevice, dispatch_uid="accounts.mfa_flag_sync")
def _device_changed(sender: type, instance: TOTPDevice, **kwargs: object) -> None:
    mfa_flag_sync(user_id=instance.user_id)
