"""Search and tags by what people read: words split at punctuation, one spelling per text.

PostgreSQL's own parser keeps a path, a host name, an e-mail address or a URL as one word, and
compares code points: "é" sent precomposed (NFC) and as "e" plus a combining accent (NFD) would
be two words and two tags. The service stores text in NFC and splits words at ASCII punctuation,
the same way in the task and in `q`.
"""

import unicodedata

import pytest

from tests.conftest import Api, User
from tests.support.listing import create, list_page
from tests.support.writes import create_task, names_location, patch_task, post_task, read_task

CAFE_NFC = "caf\u00e9"
CAFE_NFD = "cafe\u0301"
# U+FB2C (a Hebrew presentation form) has no NFC form of its own: it becomes three code points.
GROWS_THREEFOLD = "\ufb2c"


def found(api: Api, user: User, params: list[tuple[str, str]]) -> list[str]:
    """The titles of the tasks `params` select."""
    return [task["title"] for task in list_page(api, user, [*params, ("limit", "100")])["items"]]


@pytest.mark.parametrize(
    ("title", "q"),
    [
        pytest.param("milk/eggs", "eggs", id="word_after_a_slash"),
        pytest.param("milk/eggs", "milk", id="word_before_a_slash"),
        pytest.param("milk/eggs", "milk/eggs", id="the_path_itself"),
        pytest.param("foo.bar baz", "bar", id="word_after_a_dot"),
        pytest.param("foo.bar baz", "foo.bar", id="the_host_name_itself"),
        pytest.param("x@y.com", "com", id="last_part_of_an_e_mail"),
        pytest.param("x@y.com", "y", id="domain_of_an_e_mail"),
        pytest.param("x@y.com", "x@y.com", id="the_e_mail_itself"),
        pytest.param("see https://example.org/a_b", "b", id="last_part_of_a_url"),
        pytest.param("see https://example.org/a_b", "example.org", id="host_of_a_url"),
        pytest.param("use <div> here", "div", id="word_in_angle_brackets"),
        pytest.param("rock&roll", "roll", id="word_after_an_ampersand"),
        pytest.param("v1.2.3", "2", id="part_of_a_version"),
    ],
)
def test_given_words_glued_by_punctuation_when_searching_one_of_them_then_the_task_is_found(
    api: Api, alice: User, title: str, q: str
) -> None:
    create(api, alice, {"title": title})
    create(api, alice, {"title": "unrelated"})

    assert found(api, alice, [("q", q)]) == [title]


def test_given_punctuation_in_the_description_when_searching_a_word_then_the_task_is_found(
    api: Api, alice: User
) -> None:
    create(api, alice, {"title": "write", "description": "to x@y.com about /srv/backups"})

    assert found(api, alice, [("q", "backups com")]) == ["write"]


def test_given_glued_words_when_searching_a_word_not_in_the_task_then_nothing_is_found(
    api: Api, alice: User
) -> None:
    create(api, alice, {"title": "milk/eggs"})

    assert found(api, alice, [("q", "milk/bread")]) == []


@pytest.mark.parametrize(
    ("stored", "searched"),
    [
        pytest.param(CAFE_NFC, CAFE_NFD, id="nfc_task_nfd_query"),
        pytest.param(CAFE_NFD, CAFE_NFC, id="nfd_task_nfc_query"),
        pytest.param(CAFE_NFD, CAFE_NFD.upper(), id="nfd_task_nfd_query_in_capitals"),
        pytest.param(CAFE_NFC, "cafe\u0301 cre\u0300", id="nfd_prefix_of_a_second_word"),
    ],
)
def test_given_one_word_in_nfc_and_nfd_when_searching_then_each_spelling_finds_the_other(
    api: Api, alice: User, stored: str, searched: str
) -> None:
    title = f"{stored} cr\u00e8me"
    create(api, alice, {"title": title})

    assert found(api, alice, [("q", searched)]) == [unicodedata.normalize("NFC", title)]


def test_given_a_title_and_description_in_nfd_when_created_then_they_are_stored_in_nfc(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title=f"{CAFE_NFD} au lait", description=f"un {CAFE_NFD}")

    assert task["title"] == f"{CAFE_NFC} au lait"
    assert task["description"] == f"un {CAFE_NFC}"
    assert read_task(api, alice, task["id"]) == task


def test_given_a_title_in_nfd_when_patched_then_it_is_stored_in_nfc(api: Api, alice: User) -> None:
    task = create_task(api, alice, title="tea")

    response = patch_task(api, alice, task["id"], {"title": CAFE_NFD, "description": CAFE_NFD})

    assert response.status_code == 200, response.text
    assert (response.json()["title"], response.json()["description"]) == (CAFE_NFC, CAFE_NFC)


def test_given_an_nfc_title_when_replaced_by_its_nfd_spelling_then_nothing_changes(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title=CAFE_NFC)

    response = api.request(
        "PUT", alice.task_path(task["id"]), token=alice.token, json={"title": CAFE_NFD}
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"] == task["version"]


@pytest.mark.parametrize("tag", [CAFE_NFC, CAFE_NFD, CAFE_NFD.upper(), f" {CAFE_NFC.upper()} "])
def test_given_a_tag_in_nfd_or_nfc_when_filtering_by_either_then_the_task_is_found(
    api: Api, alice: User, tag: str
) -> None:
    create(api, alice, {"title": "nfd", "tags": [CAFE_NFD]})
    create(api, alice, {"title": "nfc", "tags": [CAFE_NFC]})
    create(api, alice, {"title": "other", "tags": ["cafe"]})

    assert found(api, alice, [("tag", tag)]) == ["nfc", "nfd"]


def test_given_nfc_and_nfd_spellings_of_one_tag_when_created_then_the_task_has_one_tag(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title="t", tags=[CAFE_NFC, CAFE_NFD, "E\u0301t\u00c9"])

    assert task["tags"] == [CAFE_NFC, "\u00e9t\u00e9"]


def test_given_a_title_that_grows_past_200_in_nfc_when_created_then_it_is_422_naming_it(
    api: Api, alice: User
) -> None:
    response = post_task(api, alice, {"title": GROWS_THREEFOLD * 67})

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "title")


def test_given_a_description_that_grows_past_1000_in_nfc_when_patched_then_it_is_422_naming_it(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title="t")

    response = patch_task(api, alice, task["id"], {"description": GROWS_THREEFOLD * 334})

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "description")


def test_given_a_tag_that_grows_past_50_in_nfc_when_created_then_it_is_422_naming_tags(
    api: Api, alice: User
) -> None:
    response = post_task(api, alice, {"title": "t", "tags": ["ok", GROWS_THREEFOLD * 17]})

    assert response.status_code == 422, response.text
    assert names_location(response, "body", "tags")


def test_given_a_text_that_grows_in_nfc_but_stays_within_the_limit_then_it_is_stored_in_nfc(
    api: Api, alice: User
) -> None:
    task = create_task(api, alice, title=GROWS_THREEFOLD * 66, tags=[GROWS_THREEFOLD * 16])

    assert task["title"] == unicodedata.normalize("NFC", GROWS_THREEFOLD * 66)
    assert len(task["title"]) == 198
    assert len(task["tags"][0]) == 48
