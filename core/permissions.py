"""Granting staff roles their permissions from data migrations."""

from django.contrib.auth.management import create_permissions


def _permissions_create(apps: object, *, app_label: str) -> None:
    """Django creates permissions only after all migrations run; a data migration that grants
    them must create them itself (the app-config stub needs `models_module` set for that)."""
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None


def group_grant_permissions(
    apps: object, *, group: str, app_label: str, codenames: list[str]
) -> None:
    """Give `group` the named permissions of `app_label`, creating them first if needed."""
    _permissions_create(apps, app_label=app_label)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    role, _ = Group.objects.get_or_create(name=group)
    role.permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )


def group_grant_all_permissions(
    apps: object, *, group: str, app_labels: list[str], except_codenames: set[str]
) -> None:
    """Give `group` every permission of `app_labels` but those named in `except_codenames`
    ("app_label.codename"), creating the group and the permissions first if needed."""
    for app_label in app_labels:
        _permissions_create(apps, app_label=app_label)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    role, _ = Group.objects.get_or_create(name=group)
    permissions = Permission.objects.filter(content_type__app_label__in=app_labels)
    role.permissions.add(
        *[
            permission
            for permission in permissions.select_related("content_type")
            if f"{permission.content_type.app_label}.{permission.codename}" not in except_codenames
        ]
    )
