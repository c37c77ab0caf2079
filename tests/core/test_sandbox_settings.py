"""Where the MDI credentials come from: the environment, else (sandbox on) a generated file."""

import json
import stat

from config.settings.local import sandbox_credentials
from tests.core.test_health_and_settings import PRODUCTION_ENV, _manage

PRINT = (
    "from django.conf import settings; import json; print(json.dumps([settings.MDI_CLIENT_ID,"
    " settings.MDI_CLIENT_SECRET, settings.MDI_WEBHOOK_SECRET, settings.MDI_WEBHOOK_AUTHORIZATION,"
    " 'mdi_sandbox' in settings.INSTALLED_APPS]))"
)


def test_the_file_is_created_once_with_random_values_and_owner_only(tmp_path):
    path = tmp_path / "var" / "mdi-sandbox-credentials.json"
    first = sandbox_credentials(path)
    assert set(first) == {"client_id", "client_secret", "webhook_secret", "webhook_authorization"}
    assert len(first["client_secret"]) >= 40 and first["webhook_authorization"].startswith(
        "Bearer "
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sandbox_credentials(path) == first == json.loads(path.read_text())
    assert sandbox_credentials(tmp_path / "other.json") != first


def test_a_file_missing_a_key_gains_it_and_keeps_the_rest(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"client_id": "mine"}))
    credentials = sandbox_credentials(path)
    assert credentials["client_id"] == "mine" and credentials["client_secret"]


def _local(path, **env: str) -> list:
    base = {
        "DJANGO_ENV": "local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "MDI_SANDBOX_ENABLED": "true",
        "MDI_SANDBOX_CREDENTIALS_FILE": str(path),
    }
    result = _manage("shell", "-v", "0", "-c", PRINT, env={**base, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_local_settings_read_the_file_and_the_environment_wins(tmp_path):
    path = tmp_path / "var" / "credentials.json"
    client_id, secret, webhook_secret, authorization, installed = _local(path)
    stored = json.loads(path.read_text())
    assert (client_id, secret) == (stored["client_id"], stored["client_secret"])
    assert webhook_secret == [stored["webhook_secret"]]
    assert authorization == [stored["webhook_authorization"]]
    assert installed is True
    assert _local(path, MDI_CLIENT_ID="from-env", MDI_CLIENT_SECRET="env-secret")[:2] == [
        "from-env",
        "env-secret",
    ]


def test_local_without_the_sandbox_neither_installs_it_nor_invents_credentials(tmp_path):
    path = tmp_path / "credentials.json"
    client_id, secret, webhook_secret, _, installed = _local(path, MDI_SANDBOX_ENABLED="false")
    assert (client_id, secret, webhook_secret, installed) == ("", "", [], False)
    assert not path.exists()


def test_production_never_installs_the_sandbox_app():
    result = _manage(
        "shell", "-v", "0", "-c", PRINT, env={**PRODUCTION_ENV, "MDI_SANDBOX_ENABLED": "true"}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["client", "secret", ["whsec"], ["Bearer abc"], False]
