"""The project's scripts, loaded by path: they run as files (by make, or another interpreter),
not as modules of a package."""

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.support.server import ROOT


def load_script(relative_path: str) -> ModuleType:
    """The script at `relative_path` (from the repository root), imported as a module."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(Path(relative_path).stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
