"""Settings of a department's portal: its provider (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET; the
roles claim and role map mean what they mean to the departmental APIs), the APIs it calls, its sessions."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator

from shared.settings import DepartmentSettings, database_url_field, is_published

MIGRATIONS = Path(__file__).parent / "migrations"
DEVELOPMENT_CLIENT_SECRET = "portal-dev-secret"  # deploy/keycloak/realm.py's, published


class PortalSettings(DepartmentSettings):
    service = "portal"

    database_url: str | None = database_url_field("portal")
    http_port: int = Field(default=8004, ge=1, le=65535)
    # The portal's address as a browser reaches it: the redirect URIs are made from it, and its
    # session cookie is Secure when it is https.
    public_url: str | None = Field(default=None, validation_alias=AliasChoices("PORTAL_PUBLIC_URL", "public_url"))
    oidc_client_id: str = "portal"
    oidc_client_secret: SecretStr = SecretStr(DEVELOPMENT_CLIENT_SECRET)
    oidc_scopes: str = "openid email profile"
    ideas_api_url: str = Field(default="http://127.0.0.1:8001", validation_alias=AliasChoices("IDEAS_API_URL", "ideas_api_url"))
    experiments_api_url: str = Field(default="http://127.0.0.1:8002",
                                     validation_alias=AliasChoices("EXPERIMENTS_API_URL", "experiments_api_url"))
    notifications_api_url: str = Field(default="http://127.0.0.1:8003",
                                       validation_alias=AliasChoices("NOTIFICATIONS_API_URL", "notifications_api_url"))
    reporting_url: str = Field(default="http://127.0.0.1:8000", validation_alias=AliasChoices("REPORTING_URL", "reporting_url"))
    session_lifetime_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600, validation_alias=AliasChoices(
        "PORTAL_SESSION_LIFETIME_SECONDS", "session_lifetime_seconds"))
    ideas_per_minute: int = Field(default=5, ge=1, le=1000, validation_alias=AliasChoices(
        "PORTAL_IDEAS_PER_MINUTE", "ideas_per_minute"))

    @model_validator(mode="after")
    def _needs_provider(self):
        if not self.oidc_issuer:
            raise ValueError("the portal signs people in with the department's provider: set OIDC_ISSUER")
        if self.public_url is None:
            self.public_url = f"http://127.0.0.1:{self.http_port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def settings_with_published_secrets(self) -> list[str]:
        published = is_published(self.oidc_client_secret.get_secret_value()) or \
            self.oidc_client_secret.get_secret_value() == DEVELOPMENT_CLIENT_SECRET
        return super().settings_with_published_secrets() + (["OIDC_CLIENT_SECRET"] if published else [])
