"""Checks that a real response is one the contract allows: a declared status, headers and body."""

import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from impl.contract import load_contract

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Contract:
    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else load_contract()
        self._routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path, method, operation)
            for path, item in self.document["paths"].items()
            for method, operation in item.items()
            if method in HTTP_METHODS
        ]

    def operations(self) -> set[tuple[str, str, str]]:
        """(METHOD, path template, operationId) of every operation."""
        return {(m.upper(), path, op["operationId"]) for _, path, m, op in self._routes}

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validate(self, instance: Any, schema: dict[str, Any]) -> None:
        """Raise unless `instance` matches `schema` (formats such as date-time included)."""
        validator = Draft202012Validator(
            {**schema, "components": self.document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        validator.validate(instance)

    def assert_conforms(self, response: httpx.Response) -> None:
        method = response.request.method.lower()
        path = response.request.url.path
        matches = [(t, op) for regex, t, m, op in self._routes if m == method and regex.match(path)]
        assert matches, f"{method.upper()} {path} is not an operation of the contract"
        template, operation = matches[0]
        status = str(response.status_code)
        where = f"{method.upper()} {template} answered {status}"
        assert status in operation["responses"], f"{where}, which the contract does not declare"
        declared = self.resolve(operation["responses"][status])
        for name, header in declared.get("headers", {}).items():
            if self.resolve(header).get("required"):
                assert name in response.headers, f"{where} without the {name} header"
        content = declared.get("content")
        if content is None:
            assert response.content == b"", f"{where} with a body the contract does not declare"
            return
        assert response.headers["content-type"].startswith("application/json"), where
        self.validate(response.json(), content["application/json"]["schema"])
