"""JWTs as Better Auth would issue them, and every way of getting one wrong."""

import time
from typing import Any

from jose import jwt

SECRET = "test-secret-" + "s" * 40
ONE_HOUR = 3600


def claims_for(user_id: str, *, expires_in: int = ONE_HOUR) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": user_id, "iat": now, "exp": now + expires_in}


def token_for(
    user_id: str, *, secret: str = SECRET, algorithm: str = "HS256", expires_in: int = ONE_HOUR
) -> str:
    return sign(claims_for(user_id, expires_in=expires_in), secret=secret, algorithm=algorithm)


def sign(claims: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)
