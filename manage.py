#!/usr/bin/env python
import os
import sys


def main() -> None:
    # DJANGO_ENV picks the settings module: local (default), test or production.
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", f"config.settings.{os.environ.get('DJANGO_ENV', 'local')}"
    )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
