"""A refused token's reason fits where it goes: an RFC 6750 challenge and the Error body."""

import pytest

from impl.auth.refusals import Refusal
from impl.errors import Unauthorized
from tests.support.refusals import CHALLENGE


@pytest.mark.parametrize("refusal", list(Refusal))
def test_each_reason_is_a_valid_error_description_in_the_challenge(refusal: Refusal) -> None:
    error = Unauthorized(refusal)

    match = CHALLENGE.fullmatch(error.headers["WWW-Authenticate"])

    assert match is not None, error.headers["WWW-Authenticate"]
    assert match["description"] == error.message
    assert error.details == {"reason": refusal.value}


def test_no_token_at_all_gets_the_scheme_alone() -> None:
    error = Unauthorized()

    assert error.headers == {"WWW-Authenticate": "Bearer"}
    assert error.details is None
