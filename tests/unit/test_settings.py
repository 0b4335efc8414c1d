"""No published secret in a real deployment: outside development mode the settings refuse the local
server's password, the development pseudonym secret and the demo passwords, naming what to change;
every service and command that loads settings stops on it with that one message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.experiments.config import ExperimentsSettings
from services.ideas.config import IdeasSettings
from services.notifications.config import NotificationsSettings
from services.reporting.config import ReportingSettings
from shared.settings import DEVELOPMENT_MODE, PublishedSecretError, dsn_password, is_published

ROOT = Path(__file__).resolve().parents[2]
OWN_PASSWORD = "Zq8-own-database-password"
OWN_SECRET = "a-pseudonym-secret-of-our-own"


@pytest.fixture
def production(monkeypatch):
    """An environment with no development mode and none of the settings under test."""
    for key in list(os.environ):
        if key == DEVELOPMENT_MODE or key.startswith(("KAFKA_", "INNOVATION_")) or key.endswith("DATABASE_URL"):
            monkeypatch.delenv(key)
    return monkeypatch


def own_database(name: str, password: str = OWN_PASSWORD) -> str:
    return f"postgresql://innovation:{password}@db.internal:5432/{name}"


def refusal(settings_class, **values) -> str:
    with pytest.raises(PublishedSecretError) as refused:
        settings_class(**values)
    return str(refused.value)


def test_the_defaults_are_refused_naming_every_setting_to_change(production):
    message = refusal(IdeasSettings)
    assert "IDEAS_DATABASE_URL" in message and "INNOVATION_PSEUDONYM_SECRET" in message
    assert DEVELOPMENT_MODE in message
    assert "local-development-secret" not in message and ":innovation@" not in message  # names, never values
    assert "REPORTING_DATABASE_URL" in refusal(ReportingSettings)


@pytest.mark.parametrize("settings_class", [IdeasSettings, ExperimentsSettings, NotificationsSettings])
def test_own_secrets_are_accepted_without_development_mode(production, settings_class):
    production.setenv(f"{settings_class.service.upper()}_DATABASE_URL", own_database("x"))
    production.setenv("INNOVATION_PSEUDONYM_SECRET", OWN_SECRET)
    settings = settings_class()
    assert settings.pseudonym_secret == OWN_SECRET and not settings.development_mode


def test_reporting_with_its_own_database_password_is_accepted(production):
    production.setenv("DATABASE_URL", own_database("reporting"))
    assert ReportingSettings().database_url.endswith("/reporting")


@pytest.mark.parametrize("secret", ["local-development-secret", "demo-pseudonym-secret-dwp", "demo-secret-hmrc"])
def test_a_published_pseudonym_secret_is_refused(production, secret):
    message = refusal(IdeasSettings, database_url=own_database("ideas_dwp"), pseudonym_secret=secret)
    assert "INNOVATION_PSEUDONYM_SECRET" in message and "DATABASE_URL" not in message


@pytest.mark.parametrize("dsn", [
    "postgresql://innovation:innovation@postgres:5432/ideas_dwp",
    "postgresql://innovation:innovation@127.0.0.1:5432/ideas_dwp?sslmode=require",
    "postgresql://innovation@postgres/ideas_dwp?password=innovation",
    "postgres://someone:innovation@[::1]:6432/ideas_dwp",
])
def test_a_published_database_password_is_refused_wherever_the_url_puts_it(production, dsn):
    message = refusal(IdeasSettings, database_url=dsn, pseudonym_secret=OWN_SECRET)
    assert "IDEAS_DATABASE_URL" in message and "PSEUDONYM" not in message


def test_a_url_without_a_password_is_accepted(production):
    """The password may come from PGPASSWORD or a .pgpass file, which the settings never see."""
    assert IdeasSettings(database_url="postgresql://innovation@db.internal/ideas_dwp", pseudonym_secret=OWN_SECRET)


@pytest.mark.parametrize("password", ["demo-dwp-ideas-kafka", "demo-reporting-kafka", "demo-admin-kafka-password"])
def test_a_published_kafka_password_is_refused(production, password):
    production.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    production.setenv("KAFKA_SASL_USERNAME", "reporting")
    production.setenv("KAFKA_SASL_PASSWORD", password)
    message = refusal(ReportingSettings, database_url=own_database("reporting"))
    assert "KAFKA_SASL_PASSWORD" in message and password not in message


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_development_mode_allows_the_published_defaults(production, value):
    production.setenv(DEVELOPMENT_MODE, value)
    settings = IdeasSettings()
    assert settings.development_mode and settings.pseudonym_secret == "local-development-secret"


@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_development_mode_off_still_refuses(production, value):
    production.setenv(DEVELOPMENT_MODE, value)
    refusal(IdeasSettings)


def test_published_values_are_told_apart_from_own_ones():
    assert is_published("innovation") and is_published("demo-natural-england-notifications-kafka")
    assert not is_published(OWN_SECRET) and not is_published("innovation-network-2f9c41d7") and not is_published("demo")
    assert dsn_password("postgresql://u:p%40ss@h/db") == "p@ss"
    assert dsn_password("postgresql://u@h/db") is None


COMMANDS = {
    "ideas": ["-m", "services.ideas"],
    "experiments": ["-m", "services.experiments"],
    "notifications": ["-m", "services.notifications"],
    "reporting": ["-m", "services.reporting"],
    "reporting rebuild": ["-m", "services.reporting", "rebuild"],
}


def clean_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not (key == DEVELOPMENT_MODE or key.startswith(("KAFKA_", "INNOVATION_")) or key.endswith("DATABASE_URL"))}
    return {**env, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_service_and_command_stops_with_the_one_message(command):
    """The real entry points, as an operator starts them: one line naming the settings, no traceback, status 1."""
    result = subprocess.run([sys.executable, *COMMANDS[command]], env=clean_environment(), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("refusing to start: published development or demo secrets in ")
    assert "_DATABASE_URL (its password)" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
