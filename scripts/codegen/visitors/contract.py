"""Template data read straight from the contract, for what fastapi-code-generator drops.

The generator's own operation objects lose path-parameter constraints and response headers, so
this visitor reads them from the parsed document and hands the templates one `apis` list: one
entry per tag, each with its endpoints in contract order.
"""

from __future__ import annotations

from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPE = "application/json"


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _schema_name(node: dict[str, Any] | None) -> str | None:
    if not node or "$ref" not in node:
        return None
    return str(node["$ref"]).rsplit("/", 1)[-1]


def _path_annotation(schema: dict[str, Any]) -> str:
    constraints: list[str] = []
    if schema.get("type") == "integer":
        python_type = "int"
        for keyword, argument in (("minimum", "ge"), ("maximum", "le")):
            if keyword in schema:
                constraints.append(f"{argument}={schema[keyword]!r}")
    elif schema.get("type") == "string":
        python_type = "str"
        for keyword, argument in (
            ("minLength", "min_length"),
            ("maxLength", "max_length"),
            ("pattern", "pattern"),
        ):
            if keyword in schema:
                constraints.append(f"{argument}={schema[keyword]!r}")
    else:
        raise ValueError(f"unsupported path parameter schema: {schema!r}")
    return f"Annotated[{python_type}, Path({', '.join(constraints)})]"


def _class_name(tag: str) -> str:
    return "".join(part.capitalize() for part in tag.replace("-", "_").split("_"))


def _endpoint(
    document: dict[str, Any],
    path: str,
    method: str,
    operation: dict[str, Any],
    shared_parameters: list[dict[str, Any]],
) -> dict[str, Any]:
    parameters = [
        _resolve(document, p) for p in [*shared_parameters, *operation.get("parameters", [])]
    ]
    unsupported = [p["name"] for p in parameters if p["in"] != "path"]
    if unsupported:
        raise ValueError(
            f"{operation['operationId']}: only path parameters are supported: {unsupported}"
        )

    body_model = None
    if "requestBody" in operation:
        content = _resolve(document, operation["requestBody"])["content"]
        body_model = _schema_name(content[JSON_MEDIA_TYPE]["schema"])

    status, success = next(
        (code, _resolve(document, response))
        for code, response in operation["responses"].items()
        if str(code).startswith("2")
    )
    response_schema = success.get("content", {}).get(JSON_MEDIA_TYPE, {}).get("schema")
    security = operation.get("security", document.get("security", []))
    return {
        "operation_id": operation["operationId"],
        "method": method,
        "path": path,
        "summary": operation["summary"],
        "summary_literal": repr(operation["summary"]),
        "status_code": int(status),
        "response_model": _schema_name(response_schema),
        "body_model": body_model,
        "path_parameters": [
            {"name": p["name"], "annotation": _path_annotation(p["schema"])} for p in parameters
        ],
        "secured": bool(security),
        "returns_location": "Location" in success.get("headers", {}),
    }


def visit(parser: Any, model_path: Any) -> dict[str, object]:
    document: dict[str, Any] = parser.raw_obj
    tags = [tag["name"] for tag in document.get("tags", [])]
    apis: dict[str, dict[str, Any]] = {
        tag: {"tag": tag, "class_name": _class_name(tag), "endpoints": []} for tag in tags
    }
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            endpoint = _endpoint(document, path, method, operation, item.get("parameters", []))
            (tag,) = operation["tags"]
            apis[tag]["endpoints"].append(endpoint)
    for api in apis.values():
        api["secured"] = any(e["secured"] for e in api["endpoints"])
    return {"apis": list(apis.values())}
