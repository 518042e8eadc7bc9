"""How a refused bearer token is answered: 401, saying why, and echoing nothing it carried.

The reason is one of the stable codes openapi.yaml documents (the `Unauthorized` response), in
the body's `details.reason`; the header's RFC 6750 `error_description` and the body's `message`
are the same fixed sentence for that reason.
"""

import re

import httpx

# RFC 6750, section 3: error_description is %x20-21 / %x23-5B / %x5D-7E (no '"', no '\').
DESCRIPTION = r"[\x20\x21\x23-\x5B\x5D-\x7E]+"
CHALLENGE = re.compile(
    rf'Bearer error="invalid_token", error_description="(?P<description>{DESCRIPTION})"'
)


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, f"{response.status_code}: {response.text}"
    body = response.json()
    assert body["error"] == "unauthorized"
    assert body["details"] == {"reason": reason}, body
    challenge = response.headers.get("WWW-Authenticate", "")
    match = CHALLENGE.fullmatch(challenge)
    assert match is not None, f"WWW-Authenticate: {challenge}"
    assert match["description"] == body["message"]
