#!/usr/bin/env bash
# Regenerates generated/ from openapi.yaml: routes and interfaces from our templates; from
# datamodel-code-generator, Pydantic models (to parse and validate requests) and TypedDicts (the
# JSON documents the implementation answers with, serialized as they are). Deletes the folder
# first, so an operation removed from the contract cannot survive as a stale file.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
routes_gen="$1"
models_gen="$2"
out="$root/generated"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

# The generators read the contract with its patterns written out as ECMA-262 means them, so the
# service's regex engine and a client's RegExp agree (scripts/codegen/ecma_patterns.py).
contract="$staging/openapi.yaml"
"$(dirname "$models_gen")/python" "$root/scripts/codegen/ecma_patterns.py" "$root/openapi.yaml" "$contract"

# fastapi-code-generator formats with black and isort, which read their settings from the
# working directory; run it from the empty staging folder so the output never depends on ours.
(cd "$staging" && "$routes_gen" \
    --input "$contract" \
    --output "$staging/out" \
    --template-dir "$root/scripts/codegen/templates" \
    --custom-visitor "$root/scripts/codegen/visitors/contract.py" \
    --disable-timestamp \
    --python-version 3.11) 2> >(grep -v -e FutureWarning -e warn_deprecated >&2)

# What both model files share: the same schemas, read the same way.
model_options=(
    --input "$contract"
    --input-file-type openapi
    --target-python-version 3.11
    --collapse-root-models
    --strict-nullable
    --use-union-operator
    --use-standard-collections
    --use-schema-description
    --use-double-quotes
    --disable-timestamp
    --formatters builtin
)

(cd "$staging" && "$models_gen" "${model_options[@]}" \
    --output "$staging/out/models.py" \
    --output-model-type pydantic_v2.BaseModel \
    --target-pydantic-version 2.14 \
    --use-annotated \
    --field-constraints \
    --base-class contract_runtime.formats.ContractModel \
    --set-default-enum-member \
    --strict-types bool \
    --use-missing-sentinel)

(cd "$staging" && "$models_gen" "${model_options[@]}" \
    --output "$staging/out/documents.py" \
    --output-model-type typing.TypedDict \
    --output-datetime-class datetime)

rm -rf "$out"
mv "$staging/out" "$out"
