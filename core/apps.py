from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core import crypto
        from core.middleware import session_record_sign_in

        crypto.connect_settings_signal()
        user_logged_in.connect(session_record_sign_in, dispatch_uid="core.session_sign_in")
