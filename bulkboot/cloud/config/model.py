"""The configuration of one cloud, as the rest of bulkboot sees it.

Everything here is already checked and normalised: ``bulkboot.cloud.config`` builds it
from clouds.yaml, secure.yaml and ``OS_*`` variables, or from the embedded simulator's
clouds.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["EMBEDDED_SIMULATOR", "AuthType", "CloudConfig"]

AuthType = Literal["password", "application_credential", "token", "none"]

EMBEDDED_SIMULATOR: Final = "simulator"


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudConfig:
    """Everything needed to reach one cloud; secrets are kept out of ``repr``.

    ``auth_type`` is normalised (``v3password`` -> ``password`` ...). ``verify`` is
    False only when the user turned verification off; ``cacert`` is a file path.
    ``source`` says where the cloud came from (a file, or "environment"), for messages.
    """

    name: str
    source: str
    auth_type: AuthType
    auth_url: str | None = None
    username: str | None = None
    user_id: str | None = None
    user_domain_name: str | None = None
    user_domain_id: str | None = None
    password: str | None = field(default=None, repr=False)
    project_name: str | None = None
    project_id: str | None = None
    project_domain_name: str | None = None
    project_domain_id: str | None = None
    application_credential_id: str | None = None
    application_credential_name: str | None = None
    application_credential_secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    region_name: str | None = None
    interface: str = "public"
    compute_endpoint_override: str | None = None
    image_endpoint_override: str | None = None
    network_endpoint_override: str | None = None
    verify: bool = True
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    api_timeout: float | None = None
    # seconds Nova may still act on a create sent and never answered (bulkboot's own
    # ``in_flight_window`` key; None: the API timeout)
    in_flight_window: float | None = None
    compute_api_version: str | None = None

    @property
    def user_label(self) -> str:
        """Who we authenticate as, for messages (never a secret)."""
        if self.auth_type == "application_credential":
            ident = self.application_credential_name or self.application_credential_id
            return f"application credential {ident!r}"
        if self.auth_type == "token":
            return "a given token"
        if self.auth_type == "none":
            return "nobody (auth_type none)"
        return repr(self.username or self.user_id or "")

    def endpoint_override(self, service_type: str) -> str | None:
        """The configured ``<service>_endpoint_override`` for compute, image or network."""
        return {
            "compute": self.compute_endpoint_override,
            "image": self.image_endpoint_override,
            "network": self.network_endpoint_override,
        }.get(service_type)
