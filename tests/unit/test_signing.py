"""Cursors and sync tokens: exactly the text the service issued, and nothing else, is genuine.

And nothing in one can be read: not by the user it was issued to, nor by anyone they show it to.
"""

import base64
import binascii

import pytest

from impl.signing import TokenSigner

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SIGNER = TokenSigner("s" * 32, "sync token")
CLAIMS = {"snapshot": "100:100:", "issued_at": 1_800_000_000}
TOKEN = SIGNER.sign("alice", CLAIMS)
# Issued by the release before tokens were encrypted (readable JSON, then an HMAC), with the same
# secret, purpose and user: clients hold such sync tokens for up to the retention period.
EARLIER_TOKEN = "eyJzIjoiNzMwOjczMDoiLCJ0IjoxNzY0MzIzMTAwLjV9.Dknvidd7U7iVhFYysCiKvg"


def _as_text(part: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def test_the_issued_token_is_genuine() -> None:
    assert SIGNER.verify("alice", TOKEN) == CLAIMS


def test_no_part_of_a_token_reads_as_text() -> None:
    assert [part for part in TOKEN.split(".") if _as_text(part) is not None] == []


def test_a_token_is_one_unpadded_base64url_string() -> None:
    assert set(TOKEN) <= set(BASE64URL)


@pytest.mark.parametrize("last", [c for c in BASE64URL if c != TOKEN[-1]])
def test_every_other_last_character_is_refused(last: str) -> None:
    assert SIGNER.verify("alice", TOKEN[:-1] + last) is None


@pytest.mark.parametrize("spelling", [TOKEN + "=", TOKEN + "==", TOKEN[:-1] + "!" + TOKEN[-1]])
def test_padding_and_characters_outside_the_alphabet_are_refused(spelling: str) -> None:
    assert SIGNER.verify("alice", spelling) is None


def test_a_character_changed_anywhere_is_refused() -> None:
    changed = [
        TOKEN[:at] + ("A" if TOKEN[at] != "A" else "B") + TOKEN[at + 1 :]
        for at in range(len(TOKEN))
    ]

    assert [spelling for spelling in changed if SIGNER.verify("alice", spelling) is not None] == []


@pytest.mark.parametrize("cut", ["", TOKEN[:-1], TOKEN[1:], TOKEN[: len(TOKEN) // 2], "abc"])
def test_a_cut_or_made_up_token_is_refused(cut: str) -> None:
    assert SIGNER.verify("alice", cut) is None


def test_a_token_is_refused_for_another_user() -> None:
    assert SIGNER.verify("bob", TOKEN) is None


def test_a_token_is_refused_for_another_purpose_or_secret() -> None:
    assert TokenSigner("s" * 32, "paging cursor").verify("alice", TOKEN) is None
    assert TokenSigner("t" * 32, "sync token").verify("alice", TOKEN) is None


def test_the_same_claims_for_two_users_are_two_unrelated_tokens() -> None:
    assert SIGNER.sign("bob", CLAIMS) != TOKEN


def test_claims_of_nearby_lengths_give_tokens_of_few_lengths() -> None:
    # A snapshot's text grows with the transactions in flight anywhere in the database: how
    # long it is must show through only coarsely (48 successive sizes, at most 2 lengths).
    lengths = {len(SIGNER.sign("alice", {**CLAIMS, "snapshot": "1" * n})) for n in range(1, 49)}

    assert len(lengths) <= 2


def test_a_token_issued_before_encryption_is_still_genuine() -> None:
    assert SIGNER.verify("alice", EARLIER_TOKEN) == {"s": "730:730:", "t": 1764323100.5}


def test_a_token_issued_before_encryption_keeps_one_spelling_and_its_user() -> None:
    other_spellings = [EARLIER_TOKEN[:-1] + c for c in BASE64URL if c != EARLIER_TOKEN[-1]]

    assert [s for s in other_spellings if SIGNER.verify("alice", s) is not None] == []
    assert SIGNER.verify("bob", EARLIER_TOKEN) is None
