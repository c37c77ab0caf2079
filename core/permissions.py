"""Granting staff roles their permissions from data migrations."""

from django.contrib.auth.management import create_permissions


def group_grant_permissions(
    apps: object, *, group: str, app_label: str, codenames: list[str]
) -> None:
    """Give `group` the named permissions of `app_label`, creating them first if needed.

    Django creates permissions only after all migrations run; a data migration that grants
    them must create them itself (the app-config stub needs `models_module` set for that).
    """
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    role, _ = Group.objects.get_or_create(name=group)
    role.permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )
