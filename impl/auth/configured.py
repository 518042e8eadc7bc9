"""The authenticator that AUTH_MODE asks for, built once from the settings."""

from impl.auth.claims import ClaimRules
from impl.auth.published_keys import KeySetPolicy, PublishedKeyAuthenticator, PublishedKeys
from impl.auth.shared_secret import SharedSecretAuthenticator
from impl.auth.verifier import TokenAuthenticator
from impl.settings import Settings


def claim_rules(settings: Settings) -> ClaimRules:
    return ClaimRules(
        issuer=settings.issuer,
        audience=settings.audience,
        leeway_seconds=settings.jwt_leeway_seconds,
    )


def configured_authenticator(settings: Settings) -> tuple[TokenAuthenticator, PublishedKeys | None]:
    """The authenticator, and the key set it fetches from (to close at shutdown), if any."""
    rules = claim_rules(settings)
    if settings.auth_mode == "hs256":
        assert settings.better_auth_secret is not None, "Settings requires it in hs256 mode"
        return SharedSecretAuthenticator(
            settings.better_auth_secret.get_secret_value(), rules
        ), None
    url = settings.signing_keys_url
    assert url is not None, "Settings requires JWKS_URL or BETTER_AUTH_URL in jwks mode"
    keys = PublishedKeys(
        KeySetPolicy(
            url=url,
            cache_seconds=settings.jwks_cache_seconds,
            refresh_seconds=settings.jwks_refresh_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        )
    )
    return PublishedKeyAuthenticator(keys, rules), keys
