"""The files the service reads at run time, inside the package so that an installed wheel has them.

`openapi.yaml` and `sql/` are links to the repository's own (the contract and the migrations
are edited there, at the root); building the wheel copies what they point at. `docs/` holds the
Swagger UI and ReDoc bundles, which `make docs-assets` copies in from npm (git-ignored): a wheel
built by `make wheel` carries them.
"""

from importlib.resources import files
from pathlib import Path

_ROOT = files(__name__)
# The service reads these as files (FileResponse, glob), so it runs from an unpacked install.
if not isinstance(_ROOT, Path):
    raise RuntimeError("taskapi must be installed as files, not imported from a zip")

CONTRACT_FILE = _ROOT / "openapi.yaml"
MIGRATIONS_DIR = _ROOT / "sql"
DOCS_ASSETS_DIR = _ROOT / "docs"
