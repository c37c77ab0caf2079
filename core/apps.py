from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from core import crypto, security
        from core.middleware import session_record_sign_in

        crypto.connect_settings_signal()
        user_logged_in.connect(session_record_sign_in, dispatch_uid="core.session_sign_in")
        user_login_failed.connect(security.on_user_login_failed, dispatch_uid="core-login-failed")
        user_locked_out.connect(security.on_user_locked_out, dispatch_uid="core-locked-out")
