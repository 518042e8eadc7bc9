"""The container image: built from the checkout's wheel with the repository's Containerfile, it
migrates a database, then serves as uid 10001 on a read-only root filesystem, answers its
healthcheck, and stops cleanly on SIGTERM.

Runs rootful podman (as CI does, root), with what a machine without systemd, with hybrid
cgroups and without CAP_SYS_RESOURCE needs: runc (bookworm's crun refuses hybrid cgroups),
cgroupfs, file events, and ulimits no higher than the hard limits. The base image is made from
Debian's packages (scripts/container/base-image.sh), and the dependencies' wheels are built
here, so that the image builds with no network. `make pytest` installs podman, runc,
mmdebstrap, uidmap and PostgreSQL 15 when they are missing.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from impl.db.migrations import load_migrations
from tests.conftest import new_user
from tests.support.server import ROOT, free_port
from tests.support.tokens import SECRET

BASE_IMAGE = "localhost/taskapi-base:bookworm"
BASE_IMAGE_SCRIPT = ROOT / "scripts" / "container" / "base-image.sh"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICE_UID = "10001"
# A cold machine makes the base image (about a minute) and builds every wheel.
BUILD_TIMEOUT_SECONDS = 600
STARTUP_TIMEOUT_SECONDS = 60
COMMAND_TIMEOUT_SECONDS = 120
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
NEEDED = {
    "podman": "podman",
    "runc": "runc",
    "mmdebstrap": "mmdebstrap",
    "newuidmap": "uidmap",
    str(PG_BIN / "initdb"): "postgresql-15",
}


@dataclass
class Timings:
    """How long each phase took, printed when the module is done (pytest -s shows it)."""

    phases: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - started))

    def report(self) -> str:
        lines = [f"  {name:38} {seconds:6.1f} s" for name, seconds in self.phases]
        total = sum(seconds for _, seconds in self.phases)
        return "\n".join(["container test timings:", *lines, f"  {'total':38} {total:6.1f} s"])


def ulimits() -> list[str]:
    """podman asks for nofile=1048576 by default; raising a hard limit needs CAP_SYS_RESOURCE,
    so ask for the hard limits we have. nproc is named too (nofile alone makes podman raise
    it), and kept within pid_max, conmon's own limit."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    if nofile == resource.RLIM_INFINITY:
        nofile = 1048576
    if nproc == resource.RLIM_INFINITY or nproc > pid_max:
        nproc = pid_max
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def run(
    command: list[str], *, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done


def inspect(container: str, template: str) -> str:
    return run([*PODMAN, "inspect", container, "--format", template]).stdout.strip()


@pytest.fixture(scope="module")
def timings() -> Iterator[Timings]:
    recorded = Timings()
    yield recorded
    print("\n" + recorded.report())


@pytest.fixture(scope="module")
def image(timings: Timings) -> Iterator[str]:
    """The image, built from this checkout's wheel on the Debian base; removed afterwards (the
    base image is kept, as a cache)."""
    missing = sorted({package for path, package in NEEDED.items() if not shutil.which(path)})
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: `make pytest` installs them with apt-get")
    if os.geteuid() != 0:
        pytest.fail("the container test runs rootful podman and PostgreSQL's initdb: run as root")
    tag = f"localhost/taskapi-test:{uuid.uuid4().hex[:12]}"
    context = Path(tempfile.mkdtemp(prefix="taskapi-image-"))
    try:
        with timings.phase("wheels (taskapi, then dependencies)"):
            dist = context / "dist"
            pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(dist)]
            # As `make wheel` does: setuptools would pack a module since deleted from build/lib.
            shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
            run([*pip_wheel, "--no-deps", str(ROOT)], timeout=BUILD_TIMEOUT_SECONDS)
            (wheel,) = dist.glob("taskapi-*-py3-none-any.whl")
            run([*pip_wheel, str(wheel)], timeout=BUILD_TIMEOUT_SECONDS)
        with timings.phase("base image (scripts/container)"):
            run([str(BASE_IMAGE_SCRIPT), BASE_IMAGE], timeout=BUILD_TIMEOUT_SECONDS)
            # The dependencies' binary wheels were built for this interpreter.
            base_python = run(
                [
                    *PODMAN,
                    "run",
                    "--rm",
                    *ulimits(),
                    "--network",
                    "none",
                    BASE_IMAGE,
                    "python3",
                    "-c",
                    "import sys; print(*sys.version_info[:2], sep='.')",
                ]
            ).stdout.strip()
            host_python = "{}.{}".format(*sys.version_info[:2])
            assert base_python == host_python, (
                f"the base image runs Python {base_python}, the wheels were built for"
                f" {host_python}: run the tests with Python {base_python}"
            )
        with timings.phase("podman build"):
            shutil.copy2(ROOT / "Containerfile", context / "Containerfile")
            # --format docker: the OCI format has no HEALTHCHECK (podman drops it with a warning).
            # --layers=false: no cache, and so no untagged build stage left behind.
            run(
                [
                    *PODMAN,
                    "build",
                    "--quiet",
                    "--layers=false",
                    "--format",
                    "docker",
                    *ulimits(),
                    "--network",
                    "none",
                    "--build-arg",
                    f"BASE_IMAGE={BASE_IMAGE}",
                    "--build-arg",
                    "PIP_INSTALL_OPTIONS=--no-index",
                    "--tag",
                    tag,
                    str(context),
                ],
                timeout=BUILD_TIMEOUT_SECONDS,
            )
        yield tag
    finally:
        shutil.rmtree(context, ignore_errors=True)
        with timings.phase("remove the image"):
            run(["podman", "rmi", "--force", tag], check=False)


@pytest.fixture(scope="module")
def tcp_postgres(timings: Timings, image: str) -> Iterator[str]:
    """Debian's PostgreSQL 15 on 127.0.0.1 at a free port, which a container on the host's
    network reaches (the embedded server listens on a Unix socket only); yields its URL, and
    stops it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="taskapi-container-pg-"))
    root.chmod(0o755)
    data, sockets, password_file = root / "data", root / "sockets", root / "password"
    port = free_port()
    password = uuid.uuid4().hex
    as_postgres = ["runuser", "-u", "postgres", "--"]
    pg_ctl = [*as_postgres, str(PG_BIN / "pg_ctl"), f"--pgdata={data}", "--wait"]
    initialized = False
    try:
        with timings.phase("postgres (initdb, start)"):
            for made in (data, sockets):
                made.mkdir()
                shutil.chown(made, "postgres", "postgres")
            password_file.write_text(password)
            shutil.chown(password_file, "postgres", "postgres")
            initdb = [
                str(PG_BIN / "initdb"),
                "--no-sync",
                f"--pgdata={data}",
                "--username=postgres",
            ]
            run([*as_postgres, *initdb, "--auth=scram-sha-256", f"--pwfile={password_file}"])
            initialized = True
            server = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
            run([*pg_ctl, f"--log={sockets / 'postgres.log'}", f"--options={server}", "start"])
        yield f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    finally:
        if initialized:
            with timings.phase("postgres (stop)"):
                run([*pg_ctl, "--mode=fast", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def containers() -> Iterator[list[str]]:
    """Names of the containers the block starts; each is removed afterwards, even on failure."""
    names: list[str] = []
    try:
        yield names
    finally:
        for name in names:
            run([*PODMAN, "rm", "--force", "--time", "5", name], check=False)


def test_the_image_serves_by_default_as_uid_10001_with_a_healthcheck_on_ready(
    image: str,
) -> None:
    # given the built image, when its configuration is read
    (config,) = json.loads(run(["podman", "image", "inspect", image]).stdout)

    # then it serves by default, as uid/gid 10001, checks /health/ready, and migrates only when
    # asked to (`taskapi migrate`, or MIGRATE_ON_STARTUP set by whoever runs it)
    assert config["Config"]["User"] == f"{SERVICE_UID}:{SERVICE_UID}"
    assert config["Config"]["Cmd"] == ["taskapi", "serve"]
    assert "/health/ready" in " ".join(config["Healthcheck"]["Test"])
    assert not [v for v in config["Config"]["Env"] if v.startswith("MIGRATE_ON_STARTUP=")]


def test_the_image_migrates_then_serves_read_only_as_uid_10001_and_stops_on_sigterm(
    image: str, tcp_postgres: str, timings: Timings
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    user = new_user("container")
    name = f"taskapi-test-{uuid.uuid4().hex[:8]}"
    settings = {
        "DATABASE_URL": tcp_postgres,
        "BETTER_AUTH_SECRET": SECRET,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
    }
    environment = [option for key, value in settings.items() for option in ("-e", f"{key}={value}")]
    # The host's network, to reach the database on 127.0.0.1.
    options = [*ulimits(), "--network", "host", "--read-only", "--user", "10001:10001"]
    with containers() as started:
        # given a database the image has migrated, as a release step would
        with timings.phase("podman run ... taskapi migrate"):
            started.append(f"{name}-migrate")
            migrated = run(
                [
                    *PODMAN,
                    "run",
                    "--name",
                    f"{name}-migrate",
                    *options,
                    *environment,
                    image,
                    "taskapi",
                    "migrate",
                ],
                check=False,
            )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert migrated.stdout.startswith(f"applied {len(load_migrations())} migration(s)")

        # when the image serves, detached, with its default command
        with timings.phase("podman run (serve) until ready"):
            started.append(name)
            run([*PODMAN, "run", "--detach", "--name", name, *options, *environment, image])
            ready = wait_until_ready(f"{base}/health/ready", name)
        assert ready, f"/health/ready never answered 200:\n{logs(name)}"

        with timings.phase("checks (health, API, user, filesystem)"):
            # then podman's healthcheck finds it healthy
            healthcheck = run([*PODMAN, "healthcheck", "run", name], check=False)
            health = inspect(name, "{{.State.Health.Status}}")
            # and it creates and lists a task for a real token
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {user.token}"}, timeout=10
            ) as client:
                created = client.post(user.tasks_path, json={"title": "from the container"})
                listed = client.get(user.tasks_path)
            # and the serving process (PID 1) is uid 10001, which cannot write the root
            # filesystem; nor can root: it is mounted read-only
            status = run([*PODMAN, "exec", name, "cat", "/proc/1/status"]).stdout
            command_line = run([*PODMAN, "exec", name, "cat", "/proc/1/cmdline"]).stdout
            as_service = run([*PODMAN, "exec", name, "touch", "/opt/taskapi/probe"], check=False)
            as_root = run([*PODMAN, "exec", "--user", "0", name, "touch", "/probe"], check=False)

        # and SIGTERM stops it with exit code 0
        with timings.phase("podman stop (SIGTERM)"):
            run([*PODMAN, "stop", "--time", "10", name])
            exit_code = inspect(name, "{{.State.ExitCode}}")
        served_log = logs(name)

    assert healthcheck.returncode == 0, healthcheck.stdout + healthcheck.stderr
    assert health == "healthy"
    assert (created.status_code, listed.status_code) == (201, 200), created.text
    assert [task["title"] for task in listed.json()["items"]] == ["from the container"]
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == [SERVICE_UID] * 4
    assert command_line.split("\0")[1:3] == ["/opt/taskapi/bin/taskapi", "serve"], command_line
    for refused in (as_service, as_root):
        assert refused.returncode != 0
        assert "Read-only file system" in refused.stderr
    assert exit_code == "0", served_log


def wait_until_ready(url: str, container: str) -> bool:
    """Whether `url` answers 200 before the deadline; False as soon as the container stops."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if inspect(container, "{{.State.Running}}") != "true":
            return False
        time.sleep(0.2)
    return False


def logs(container: str) -> str:
    shown = run([*PODMAN, "logs", "--tail", "40", container], check=False)
    return shown.stdout + shown.stderr
