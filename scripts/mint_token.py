"""Print a development JWT for a user, as the configured AUTH_MODE verifies it.

hs256: signed with BETTER_AUTH_SECRET. jwks: signed with the local dev key (scripts/dev_signer.py),
which `make dev-jwks` publishes; point JWKS_URL at it. Either way with the configured issuer and
audience, if any.

Usage: python scripts/mint_token.py <user id> [--minutes N]
"""

import argparse

import jwt
from dev_signer import claims_for, sign

from impl.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_id")
    parser.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    args = parser.parse_args()
    settings = Settings()
    claims = claims_for(args.user_id, args.minutes, settings.issuer, settings.audience)
    if settings.auth_mode == "jwks":
        print(sign(claims))
        return
    assert settings.better_auth_secret is not None, "Settings requires it in hs256 mode"
    print(jwt.encode(claims, settings.better_auth_secret.get_secret_value(), algorithm="HS256"))


if __name__ == "__main__":
    main()
