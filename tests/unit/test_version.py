"""A release is the contract it serves: one version for the contract, the package and the client."""

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

from impl.contract import load_contract

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_and_the_client_carry_the_contracts_version() -> None:
    contract_version = load_contract()["info"]["version"]
    package = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    client = json.loads((ROOT / "clients" / "typescript" / "package.json").read_text())["version"]

    assert package == contract_version, "set pyproject.toml's version to the contract's"
    assert client == contract_version, "set clients/typescript/package.json's version too"


def test_the_readme_installs_whatever_version_npm_pack_makes() -> None:
    readme = (ROOT / "README.md").read_text()

    assert "npm install ../taskapi/clients/typescript/taskapi-client-*.tgz" in readme
    assert re.findall(r"taskapi-client-[0-9.]+\.tgz", readme) == [], "no version to chase"


def test_the_web_apps_lock_records_the_clients_version() -> None:
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    linked = lock["packages"]["../clients/typescript"]["version"]

    assert linked == load_contract()["info"]["version"], "run `npm install` in web/"


def test_the_installed_package_is_this_version() -> None:
    assert metadata.version("taskapi") == load_contract()["info"]["version"], "run make install"
