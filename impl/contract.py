"""Serve openapi.yaml itself, not a schema FastAPI re-derives from the routes."""

import json
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI, Request, Response

from impl.docs import add_docs_routes
from impl.resources import CONTRACT_FILE

OPENAPI_URL = "/openapi.json"


def load_contract(path: Path = CONTRACT_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        contract: dict[str, Any] = yaml.safe_load(file)
    return contract


def add_contract_routes(app: FastAPI, contract: dict[str, Any]) -> None:
    """`/openapi.json` (the contract as JSON), Swagger UI at `/docs` and ReDoc at `/redoc`."""
    document = json.dumps(contract).encode()

    async def openapi_json(request: Request) -> Response:
        return Response(document, media_type="application/json")

    app.add_api_route(OPENAPI_URL, openapi_json, include_in_schema=False, methods=["GET", "HEAD"])
    add_docs_routes(app, contract["info"]["title"], OPENAPI_URL)
