"""Without the Swagger UI and ReDoc bundles the docs pages answer 503 and say how to get them."""

import json

import pytest

import impl.docs


def test_a_missing_bundle_makes_the_docs_pages_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        impl.docs.REDOC_ASSETS,
        impl.docs.REDOC_BUNDLE_URL,
        (impl.docs.ASSETS_DIR / "redoc" / "not-installed.js", "text/javascript"),
    )

    response = impl.docs._page("<html></html>")

    assert response.status_code == 503
    body = json.loads(bytes(response.body))
    assert body["error"] == "docs_unavailable"
    assert impl.docs.INSTALL_COMMAND in body["message"]
    assert body["details"] == {"missing": ["redoc/not-installed.js"]}


def test_installed_bundles_give_the_page_with_its_policy() -> None:
    if impl.docs.missing_assets():
        pytest.skip(f"bundles not installed: `{impl.docs.INSTALL_COMMAND}`")

    response = impl.docs._page("<html></html>")

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == impl.docs.CONTENT_SECURITY_POLICY
