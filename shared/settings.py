"""Settings every service reads from its environment; a service adds its own in its config.py.

Kafka security is off by default (PLAINTEXT, the local mode). A deployment with SASL sets
`KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT` (or `SASL_SSL`), `KAFKA_SASL_MECHANISM` (default
SCRAM-SHA-512), `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD`; every Kafka client a service
creates takes them from `kafka_client_options()` (aiokafka) or `kafka_security()` (FastStream).

Each service has its own database: `<SERVICE>_DATABASE_URL` (e.g. `IDEAS_DATABASE_URL`),
else `DATABASE_URL`, else `<service>_<department>` on the local PostgreSQL server.

A departmental service accepts its people's access tokens once `OIDC_ISSUER` names the department's
OpenID provider (see docs/identity.md): `OIDC_AUDIENCE`, `OIDC_ROLES_CLAIM` and `OIDC_ROLE_MAP` say
what a token must be for and how its roles or groups map to ours.

The defaults (the local server's password, the pseudonym secret) and the demo values of this
repository are published. Settings that hold one of them are refused unless
`INNOVATION_DEVELOPMENT_MODE=1` says this is a development machine (`make up` and the tests set it).
"""

import os
import re
import ssl
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events.topics import validate_department
from shared.tokens import LEEWAY_SECONDS, TokenPolicy, parse_role_map

def local_postgres() -> str:
    """The local server of `make up` (deploy/postgres.sh, on PG_PORT)."""
    return f"postgresql://innovation:innovation@127.0.0.1:{os.environ.get('PG_PORT', '5432')}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers' cpusets narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


DEVELOPMENT_MODE = "INNOVATION_DEVELOPMENT_MODE"
DEVELOPMENT_PSEUDONYM_SECRET = "local-development-secret"

# Secrets that appear in this repository, its history or its docs: anyone can read them.
PUBLISHED_SECRETS = frozenset({"innovation", DEVELOPMENT_PSEUDONYM_SECRET, "demo-admin-kafka-password", "demo-reporting-kafka"})
# The per-department demo values: demo-<dept>-<service>-kafka, demo-pseudonym-secret-<dept>, demo-secret-<dept>.
_PUBLISHED_FAMILIES = re.compile(r"demo-[a-z0-9-]+-(ideas|experiments|notifications)-kafka|demo-(pseudonym-)?secret-[a-z0-9-]+")


def is_published(secret: str) -> bool:
    return secret in PUBLISHED_SECRETS or _PUBLISHED_FAMILIES.fullmatch(secret) is not None


def dsn_password(dsn: str) -> str | None:
    """The password of a PostgreSQL URL, in its user-info or its `password` parameter."""
    parts = urlsplit(dsn)
    if parts.password is not None:
        return unquote(parts.password)
    given = parse_qs(parts.query).get("password")
    return given[0] if given else None


class PublishedSecretError(SystemExit):
    """Settings hold a published secret outside development mode. A SystemExit, so that a service or
    a command stops with this message alone (no traceback, and never the secrets' values)."""


def database_url_field(service: str):
    return Field(default=None, validation_alias=AliasChoices(f"{service.upper()}_DATABASE_URL", "DATABASE_URL"))


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)
    service: ClassVar[str]

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    database_url: str | None = None
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    # Worker processes of one replica: each has its own pool, relay and consumers. "auto": one per core
    # this process may run on (see `workers()`).
    http_workers: int | Literal["auto"] = Field(default=1)
    # How long a graceful stop may take before in-flight work is abandoned.
    shutdown_grace_seconds: float = Field(default=20.0, gt=0)
    # The largest record value a consumer parses; a larger one is dead-lettered as EventTooLarge.
    max_event_bytes: int = Field(default=1_048_576, ge=1024, le=8 * 1_048_576)
    # Allows the published defaults and demo secrets: for a development machine only.
    development_mode: bool = Field(default=False, validation_alias=AliasChoices(DEVELOPMENT_MODE, "development_mode"))

    def local_database(self) -> str:
        return self.service

    @field_validator("http_workers")
    @classmethod
    def _worker_count(cls, value: int | str) -> int | str:
        if value != "auto" and not 1 <= value <= 64:
            raise ValueError("HTTP_WORKERS is a number from 1 to 64, or auto (one per usable core)")
        return value

    def workers(self) -> int:
        """The number of HTTP worker processes: HTTP_WORKERS, or with "auto" the cores this process may use."""
        if self.http_workers != "auto":
            return self.http_workers
        return max(1, min(64, usable_cores()))

    @model_validator(mode="after")
    def _default_database(self):
        if self.database_url is None:
            self.database_url = f"{local_postgres()}/{self.local_database()}"
        return self

    @model_validator(mode="after")
    def _sasl_credentials(self):
        if self.kafka_security_protocol.startswith("SASL_") and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    @model_validator(mode="after")
    def _no_published_secrets(self):
        if not self.development_mode and (names := self.settings_with_published_secrets()):
            raise PublishedSecretError(
                f"refusing to start: published development or demo secrets in {', '.join(names)}. "
                f"Set these to secrets of your own, or set {DEVELOPMENT_MODE}=1 on a development machine only."
            )
        return self

    def settings_with_published_secrets(self) -> list[str]:
        """The environment variables (as an operator sets them) whose values are published secrets."""
        names = []
        password = dsn_password(self.database_url)
        if password is not None and is_published(password):
            names.append(f"{self.service.upper()}_DATABASE_URL (its password)")
        if self.kafka_sasl_password is not None and is_published(self.kafka_sasl_password.get_secret_value()):
            names.append("KAFKA_SASL_PASSWORD")
        return names

    def kafka_client_options(self) -> dict[str, Any]:
        """Security arguments for an aiokafka client (producer, consumer, admin); empty for PLAINTEXT."""
        if self.kafka_security_protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = dict(
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_plain_username=self.kafka_sasl_username,
            sasl_plain_password=self.kafka_sasl_password.get_secret_value(),
        )
        if self.kafka_security_protocol == "SASL_SSL":
            options["ssl_context"] = ssl.create_default_context()
        return options

    def kafka_security(self) -> BaseSecurity | None:
        """The same settings for FastStream's KafkaBroker(security=...)."""
        if self.kafka_security_protocol == "PLAINTEXT":
            return None
        kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[self.kafka_sasl_mechanism]
        tls = ssl.create_default_context() if self.kafka_security_protocol == "SASL_SSL" else None
        return kind(self.kafka_sasl_username, self.kafka_sasl_password.get_secret_value(), ssl_context=tls)


class DepartmentSettings(ServiceSettings):
    """Settings of a service that runs once per department."""

    department: str = Field(default="dwp", validation_alias=AliasChoices("INNOVATION_DEPARTMENT", "department"))
    pseudonym_secret: str = Field(
        default=DEVELOPMENT_PSEUDONYM_SECRET,
        validation_alias=AliasChoices("INNOVATION_PSEUDONYM_SECRET", "pseudonym_secret"),
        min_length=8,
    )

    # The department's OpenID provider; unset: access tokens are refused (API keys only).
    oidc_issuer: str | None = None
    oidc_audience: str = "innovation-api"
    oidc_roles_claim: str = "realm_access.roles"  # a dotted path into the token's claims
    oidc_role_map: str = "contributor=contributor,reviewer=reviewer,admin=admin,viewer=viewer"
    # Clock skew allowed between the provider and us on a token's exp and nbf.
    oidc_leeway_seconds: int = Field(default=LEEWAY_SECONDS, ge=0, le=300)

    @field_validator("department")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        return validate_department(value)

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map(cls, value: str) -> str:
        parse_role_map(value)
        return value

    @model_validator(mode="after")
    def _issuer_over_tls(self):
        # The keys that sign tokens are fetched from the issuer: over plain HTTP anyone on the path could
        # publish their own. Plain HTTP is for a development machine's local provider only.
        if self.oidc_issuer and not self.development_mode and not self.oidc_issuer.startswith("https://"):
            raise ValueError(f"OIDC_ISSUER must be an https URL (or set {DEVELOPMENT_MODE}=1 on a development machine)")
        return self

    def token_policy(self) -> TokenPolicy | None:
        """What an access token must be to be accepted here; None when no provider is configured."""
        if not self.oidc_issuer:
            return None
        return TokenPolicy(issuer=self.oidc_issuer, audience=self.oidc_audience, department=self.department,
                           roles_claim=self.oidc_roles_claim, role_map=parse_role_map(self.oidc_role_map),
                           leeway=self.oidc_leeway_seconds)

    def settings_with_published_secrets(self) -> list[str]:
        published = is_published(self.pseudonym_secret)
        return super().settings_with_published_secrets() + (["INNOVATION_PSEUDONYM_SECRET"] if published else [])

    def local_database(self) -> str:
        return f"{self.service}_{self.department.replace('-', '_')}"
