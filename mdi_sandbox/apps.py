from django.apps import AppConfig


class MdiSandboxConfig(AppConfig):
    name = "mdi_sandbox"
    verbose_name = "MDI sandbox"
