"""Print a development JWT for a user, signed with the configured BETTER_AUTH_SECRET.

Usage: python scripts/mint_token.py <user id> [--minutes N]
"""

import argparse
import time

from jose import jwt

from impl.auth import ALGORITHM
from impl.settings import Settings


def mint(user_id: str, secret: str, minutes: int) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + minutes * 60}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_id")
    parser.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    args = parser.parse_args()
    print(mint(args.user_id, Settings().better_auth_secret.get_secret_value(), args.minutes))


if __name__ == "__main__":
    main()
