"""Fuzz the running service against openapi.yaml with Schemathesis, and stop everything after.

`python -m tests.fuzz.run` (`make fuzz`) starts PostgreSQL and the real service on a free loopback
port, then runs three passes, each with a fixed seed and a JUnit report in reports/fuzz/:

- owner and owner-stateful: every check and every phase as the user in the path; zero failures
  and zero warnings allowed. The stateful phase runs on its own: after the other phases in the
  same run it gets a fraction of its scenarios;
- stranger and anonymous: the same operations with another user's token and with none, where the
  `rejects_callers_other_than_the_owner` check (tests/fuzz/hooks.py) fails any success.

The owner's passes run one after the other, and beside them the refused callers' passes: two
passes at a time, never two that write as the same user.
"""

import argparse
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import service_settings
from tests.support.postgres import postgres_server
from tests.support.server import ROOT, running_service

REPORT_DIR = ROOT / "reports" / "fuzz"
CONFIG = Path(__file__).with_name("schemathesis.toml")
DEFAULT_SEED = 20261128
STATELESS_PHASES = "examples,coverage,fuzzing"
# The rejection passes check what a caller without the owner's token gets; the checks that expect
# valid data to succeed, and the stateful phase that chains successes, do not apply to them.
REJECTION_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,rejects_callers_other_than_the_owner"
)
# Refused callers are the point of these passes: the warning that says so is expected. So is the
# one that counts 400s among the refusals: a caller that sends two credentials (a bearer token
# and the stream token the fuzzer fills in) is refused 400 `invalid_request` as RFC 6750 says,
# and where that is all besides 401 the share of 400s trips it. It stands in for nothing here:
# `rejects_callers_other_than_the_owner` holds every well-formed request to its exact status.
REJECTION_WARNINGS = "missing_test_data,unsupported_regex,method_not_allowed"
# An event stream the owner opens stays open until the client closes it, and a fuzzer reads an
# answer to its end: tests/integration/test_events.py holds the stream to the contract instead.
# Refused callers are answered at once, and fuzzed as on every operation.
OWNER_EXCLUDED = ("stream_events",)


@dataclass(frozen=True)
class PassResult:
    name: str
    exit_code: int
    figures: str


@dataclass(frozen=True)
class FuzzPass:
    name: str
    identity: str
    phases: str
    checks: str
    warnings: str | None = None
    excluded: tuple[str, ...] = ()


PASSES = (
    FuzzPass("owner", "owner", STATELESS_PHASES, "all", excluded=OWNER_EXCLUDED),
    FuzzPass("owner-stateful", "owner", "stateful", "all", excluded=OWNER_EXCLUDED),
    FuzzPass("stranger", "stranger", STATELESS_PHASES, REJECTION_CHECKS, REJECTION_WARNINGS),
    FuzzPass("anonymous", "anonymous", STATELESS_PHASES, REJECTION_CHECKS, REJECTION_WARNINGS),
)


def run_pass(fuzz: FuzzPass, base_url: str, max_examples: int, seed: int) -> PassResult:
    report = REPORT_DIR / f"{fuzz.name}.xml"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        str(ROOT / "openapi.yaml"),
        "--url",
        base_url,
        "--phases",
        fuzz.phases,
        "--checks",
        fuzz.checks,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
    ]
    if fuzz.warnings is not None:
        command += ["--warnings", fuzz.warnings]
    for operation in fuzz.excluded:
        command += ["--exclude-operation-id", operation]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
        "FUZZ_IDENTITY": fuzz.identity,
        "FUZZ_PHASES": fuzz.phases,
        "FUZZ_BASE_URL": base_url,
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # One write per pass: the other lane's pass prints beside it.
    heading = f"=== fuzz pass: {fuzz.name} ({fuzz.phases} as {fuzz.identity}) ==="
    print(f"\n{heading}\n{result.stdout}", flush=True)
    return PassResult(fuzz.name, result.returncode, _figures(result.stdout))


def _figures(output: str) -> str:
    """What Schemathesis counted: test cases, and for the stateful phase scenarios and links."""
    found = [
        match.group(0).strip()
        for pattern in (r"\d+ generated[^\n]*", r"Scenarios:\s+\d+", r"API Links:[^\n]*")
        if (match := re.search(pattern, output))
    ]
    return "; ".join(found) or "no figures"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", choices=[p.name for p in PASSES], action="append")
    args = parser.parse_args()
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    selected = [p for p in PASSES if not args.only or p.name in args.only]

    results: list[PassResult] = []
    with postgres_server() as postgres, postgres.fresh_database("taskapi_fuzz") as database_url:
        settings = service_settings(database_url)
        with running_service(settings, REPORT_DIR / "service.log") as base_url:
            lanes = [
                [fuzz for fuzz in selected if fuzz.identity == "owner"],
                [fuzz for fuzz in selected if fuzz.identity != "owner"],
            ]

            def run_lane(lane: list[FuzzPass]) -> list[PassResult]:
                return [run_pass(fuzz, base_url, args.max_examples, args.seed) for fuzz in lane]

            with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
                for lane_results in pool.map(run_lane, lanes):
                    results += lane_results

    print(f"\n=== fuzz summary (seed {args.seed}, {args.max_examples} examples) ===")
    for result in results:
        verdict = "passed" if result.exit_code == 0 else f"FAILED (exit {result.exit_code})"
        print(f"{result.name:15} {verdict:18} {result.figures}")
    print(f"JUnit reports: {REPORT_DIR}")
    return 0 if all(result.exit_code == 0 for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
