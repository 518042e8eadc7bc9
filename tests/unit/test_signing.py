"""Cursors and sync tokens: exactly the text the service issued, and nothing else, is genuine."""

import pytest

from impl.signing import TokenSigner

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SIGNER = TokenSigner("s" * 32, "sync token")
TOKEN = SIGNER.sign("alice", {"snapshot": "100:100:", "issued_at": 1_800_000_000})


def test_the_issued_token_is_genuine() -> None:
    assert SIGNER.verify("alice", TOKEN) == {"snapshot": "100:100:", "issued_at": 1_800_000_000}


@pytest.mark.parametrize("last", [c for c in BASE64URL if c != TOKEN[-1]])
def test_every_other_last_character_is_refused(last: str) -> None:
    assert SIGNER.verify("alice", TOKEN[:-1] + last) is None


@pytest.mark.parametrize("spelling", [TOKEN + "=", TOKEN + "==", TOKEN[:-1] + "!" + TOKEN[-1]])
def test_padding_and_characters_outside_the_alphabet_are_refused(spelling: str) -> None:
    assert SIGNER.verify("alice", spelling) is None
