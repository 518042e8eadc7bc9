"""JSON as the service writes it: orjson, timestamps in UTC as `Z` (as the generated routes do)."""

from typing import Any

import orjson


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_UTC_Z)
