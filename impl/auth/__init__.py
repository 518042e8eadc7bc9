"""Bearer-token verification (HS256 with a shared secret, or Better Auth's published keys)."""
