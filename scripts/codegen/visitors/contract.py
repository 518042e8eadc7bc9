"""Template data read straight from the contract, for what fastapi-code-generator drops.

The generator's own operation objects lose parameter constraints, request media types and
response headers, so this visitor reads them from the parsed document and hands the templates
one `apis` list: one entry per tag, each with its endpoints in contract order; and the rules of
each string path parameter, which code outside the routes holds values to.
"""

from __future__ import annotations

import re
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPE = "application/json"
# A success answered as a stream of Server-Sent Events rather than one document.
EVENT_STREAM_MEDIA_TYPE = "text/event-stream"
# Answered by the generated route itself (a conditional GET), never passed to the implementation.
IF_NONE_MATCH = "If-None-Match"
# The header parameters that are lists of entity tags (RFC 9110, 13.1.1 and 13.1.2): sent in
# several fields, they are one list (RFC 9110, 5.3). Every other header parameter is one value.
ENTITY_TAG_HEADERS = ("If-Match", IF_NONE_MATCH)
PARAMETER_FUNCTIONS = {"path": "Path", "query": "Query", "header": "Header"}
STRING_CONSTRAINTS = (
    ("minLength", "min_length"),
    ("maxLength", "max_length"),
    ("pattern", "pattern"),
)
NUMBER_CONSTRAINTS = (("minimum", "ge"), ("maximum", "le"))
# The constants a path parameter's rule is exported as: `<NAME>_<SUFFIX>`.
RULE_CONSTANTS = (("pattern", "PATTERN"), ("minLength", "MIN_LENGTH"), ("maxLength", "MAX_LENGTH"))


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


def _constraints(schema: dict[str, Any], keywords: tuple[tuple[str, str], ...]) -> list[str]:
    return [
        f"{argument}={schema[keyword]!r}" for keyword, argument in keywords if keyword in schema
    ]


def _value_type(
    document: dict[str, Any], node: dict[str, Any], constrain_items: bool = True
) -> tuple[str, list[str]]:
    """The Python type of a parameter's value, and the constraints FastAPI should check on it.

    Constraints on the items of an array go into the type itself, and integers get the type that
    refuses other spellings, unless `constrain_items` is off (for the interface, which receives
    values the route has already checked).
    """
    name = _schema_name(node)
    schema = _resolve(document, node)
    if name is not None and "enum" in schema:
        return f"models.{name}", []
    if schema.get("format") == "date-time":
        return "formats.DateTime", []
    if "enum" in schema:
        return f"Literal[{', '.join(repr(value) for value in schema['enum'])}]", []
    kind = schema.get("type")
    if kind == "integer":
        python_type = "formats.Integer" if constrain_items else "int"
        return python_type, _constraints(schema, NUMBER_CONSTRAINTS)
    if kind == "boolean":
        return ("formats.Boolean" if constrain_items else "bool"), []
    if kind == "string":
        return "str", _constraints(schema, STRING_CONSTRAINTS)
    if kind == "array":
        item_type, item_constraints = _value_type(document, schema["items"])
        if item_constraints and constrain_items:
            item_type = f"Annotated[{item_type}, StringConstraints({', '.join(item_constraints)})]"
        length = [f"max_length={schema['maxItems']!r}"] if "maxItems" in schema else []
        return f"list[{item_type}]", length
    raise ValueError(f"unsupported parameter schema: {schema!r}")


def _snake_case(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _parameter(document: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    location = parameter["in"]
    if location not in PARAMETER_FUNCTIONS:
        raise ValueError(f"unsupported parameter location: {location!r}")
    value_type, constraints = _value_type(document, parameter["schema"])
    name = _snake_case(parameter["name"])
    if name != parameter["name"]:
        constraints.insert(0, f"alias={parameter['name']!r}")
    schema = _resolve(document, parameter["schema"])
    required = bool(parameter.get("required"))
    optional = "" if required or "default" in schema else " | None"
    python_type = value_type + optional
    port_type = _value_type(document, parameter["schema"], constrain_items=False)[0] + optional
    function = PARAMETER_FUNCTIONS[location]
    default = "" if required else f" = {schema.get('default')!r}"
    return {
        "name": name,
        "header": parameter["name"],
        "location": location,
        "many": schema.get("type") == "array",
        "port_type": port_type,
        "annotation": f"Annotated[{python_type}, {function}({', '.join(constraints)})]{default}",
    }


def _segment_exclusions(paths: list[str]) -> dict[str, dict[str, list[str]]]:
    """For each path, its parameters that another path of the same shape spells literally.

    `/tasks/{task_id}` and `/tasks/changes` both match `/tasks/changes`; the parameter must not
    take the literal sibling's value, or a method that only the parameter route serves would
    answer for the literal path instead of 405.
    """
    split = {path: path.strip("/").split("/") for path in paths}
    exclusions: dict[str, dict[str, list[str]]] = {}
    for path, segments in split.items():
        for index, segment in enumerate(segments):
            if not segment.startswith("{"):
                continue
            literals = sorted(
                other[index]
                for other_path, other in split.items()
                if other_path != path
                and len(other) == len(segments)
                and not other[index].startswith("{")
                and all(
                    o == s
                    for i, (o, s) in enumerate(zip(other, segments, strict=True))
                    if i != index
                )
            )
            if literals:
                exclusions.setdefault(path, {})[segment.strip("{}")] = literals
    return exclusions


def _route_path(path: str, exclusions: dict[str, list[str]]) -> tuple[str, list[dict[str, Any]]]:
    """The path with a convertor on each parameter that must not match a sibling's literal."""
    convertors = []
    for name, literals in exclusions.items():
        convertor = f"{name}_except_{'_'.join(literals)}"
        path = path.replace("{" + name + "}", "{" + name + ":" + convertor + "}")
        convertors.append({"name": convertor, "literals": literals})
    return path, convertors


def _class_name(tag: str) -> str:
    return "".join(part.capitalize() for part in tag.replace("-", "_").split("_"))


def _endpoint(
    document: dict[str, Any],
    path: str,
    method: str,
    operation: dict[str, Any],
    shared_parameters: list[dict[str, Any]],
    exclusions: dict[str, list[str]],
) -> dict[str, Any]:
    parameters = [
        _parameter(document, _resolve(document, p))
        for p in [*shared_parameters, *operation.get("parameters", [])]
    ]
    conditional_get = (
        method == "get"
        and "304" in operation["responses"]
        and any(p["header"] == IF_NONE_MATCH for p in parameters)
    )
    for p in parameters:
        p["passed"] = not (conditional_get and p["header"] == IF_NONE_MATCH)

    headers = [p["header"] for p in parameters if p["location"] == "header"]
    body = None
    if "requestBody" in operation:
        request_body = _resolve(document, operation["requestBody"])
        content = request_body["content"]
        models = {_schema_name(media["schema"]) for media in content.values()}
        if len(models) != 1 or None in models:
            raise ValueError(f"{operation['operationId']}: one named body schema per operation")
        body = {
            "model": models.pop(),
            "required": bool(request_body.get("required")),
            "media_types": tuple(content),
        }

    status, success = next(
        (code, _resolve(document, response))
        for code, response in operation["responses"].items()
        if str(code).startswith("2")
    )
    response_schema = success.get("content", {}).get(JSON_MEDIA_TYPE, {}).get("schema")
    response_headers = success.get("headers", {})
    security = operation.get("security", document.get("security", []))
    query_credentials = _query_credentials(document, security)
    route_path, convertors = _route_path(path, exclusions)
    return {
        "operation_id": operation["operationId"],
        "method": method,
        "path": route_path,
        "convertors": convertors,
        "summary": operation["summary"],
        "summary_literal": repr(operation["summary"]),
        "status_code": int(status),
        "response_model": _schema_name(response_schema),
        "body": body,
        "parameters": parameters,
        "single_query": [
            *(p["header"] for p in parameters if p["location"] == "query" and not p["many"]),
            *(credential["name"] for credential in query_credentials),
        ],
        "single_headers": [h for h in headers if h not in ENTITY_TAG_HEADERS],
        "entity_tag_headers": [h for h in headers if h in ENTITY_TAG_HEADERS],
        "conditional_get": conditional_get,
        "secured": bool(security),
        "query_credentials": query_credentials,
        "event_stream": EVENT_STREAM_MEDIA_TYPE in success.get("content", {}),
        # Headers the contract fixes to one value, which the route sends as they are.
        "fixed_headers": {
            name: _resolve(document, header)["schema"]["const"]
            for name, header in response_headers.items()
            if "const" in _resolve(document, header).get("schema", {})
        },
        "returns_location": "Location" in response_headers,
        "returns_entity_tag": "ETag" in response_headers,
        "marks_replays": "Idempotent-Replayed" in response_headers,
    }


def _query_credentials(
    document: dict[str, Any], security: list[dict[str, list[str]]]
) -> list[dict[str, str]]:
    """The API keys in the query string that an operation accepts instead of a bearer token:
    each security scheme's name and its query parameter's."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    credentials = []
    for requirement in security:
        for name in requirement:
            scheme = schemes[name]
            if scheme["type"] == "apiKey":
                if scheme["in"] != "query":
                    raise ValueError(f"{name}: only API keys in the query are supported")
                credentials.append({"scheme": name, "name": scheme["name"]})
    if len(credentials) > 1:
        raise ValueError("one API key scheme per operation")
    return credentials


def _path_parameter_rules(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each string path parameter's constraints, as constants named for it.

    A value that comes from elsewhere may have to be one the path accepts: a token's subject is
    the user id of every URL the token may call.
    """
    rules: dict[str, list[dict[str, str]]] = {}
    for item in document["paths"].values():
        nodes = list(item.get("parameters", []))
        for method in HTTP_METHODS:
            nodes += item.get(method, {}).get("parameters", [])
        for node in nodes:
            parameter = _resolve(document, node)
            schema = _resolve(document, parameter["schema"])
            if parameter["in"] != "path" or schema.get("type") != "string":
                continue
            prefix = _snake_case(parameter["name"]).upper()
            constants = [
                {"name": f"{prefix}_{suffix}", "value": repr(schema[keyword])}
                for keyword, suffix in RULE_CONSTANTS
                if keyword in schema
            ]
            if rules.setdefault(parameter["name"], constants) != constants:
                raise ValueError(f"path parameter {parameter['name']!r} has two schemas")
    return [{"name": name, "constants": constants} for name, constants in rules.items()]


def visit(parser: Any, model_path: Any) -> dict[str, object]:
    document: dict[str, Any] = parser.raw_obj
    tags = [tag["name"] for tag in document.get("tags", [])]
    apis: dict[str, dict[str, Any]] = {
        tag: {"tag": tag, "class_name": _class_name(tag), "endpoints": []} for tag in tags
    }
    exclusions = _segment_exclusions(list(document["paths"]))
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            endpoint = _endpoint(
                document,
                path,
                method,
                operation,
                item.get("parameters", []),
                exclusions.get(path, {}),
            )
            (tag,) = operation["tags"]
            apis[tag]["endpoints"].append(endpoint)
    for api in apis.values():
        api["secured"] = any(e["secured"] for e in api["endpoints"])
    convertors = {
        c["name"]: c for api in apis.values() for e in api["endpoints"] for c in e["convertors"]
    }
    return {
        "apis": list(apis.values()),
        "convertors": list(convertors.values()),
        "path_parameters": _path_parameter_rules(document),
    }
