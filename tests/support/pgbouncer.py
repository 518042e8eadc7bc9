"""PgBouncer in transaction mode in front of the tests' PostgreSQL, as Neon's pooled endpoint is.

Clients reach it as they reach Neon's pooler: over TLS, with a password (SCRAM), at a URL of the
form Neon's console gives (`?sslmode=require&channel_binding=require`). It logs in to PostgreSQL
as the server's own user (the embedded server trusts its socket), for any database name.
"""

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from impl.db.url import parse_database_url
from tests.support.server import ROOT, free_port

PGBOUNCER = ROOT / ".tools" / "pgbouncer" / "bin" / "pgbouncer"
# What clients send: Neon's pooled URL carries both; asyncpg gets `ssl` for the first, and the
# second is dropped (impl/db/url.py).
NEON_QUERY = "sslmode=require&channel_binding=require"
STARTUP_TIMEOUT_SECONDS = 10
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class PoolerSettings:
    """What differs between the runs: how many server connections, and the statement setting."""

    # Server connections per database (and user). Fewer than the service's pool, so that one
    # client's transactions land on different server connections.
    default_pool_size: int = 4
    # Protocol-level named prepared statements (asyncpg's statement cache) tracked and re-prepared
    # on whichever server connection a client gets. 0 turns the tracking off (PgBouncer < 1.21).
    max_prepared_statements: int = 200


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer; `url_for` gives the URL a client pastes for one database."""

    port: int
    user: str
    password: str
    pid: int

    def url_for(self, database: str) -> str:
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{quote(database)}?{NEON_QUERY}"


@contextmanager
def running_pgbouncer(
    upstream_url: str, log_path: Path, settings: PoolerSettings | None = None
) -> Iterator[PgBouncer]:
    """PgBouncer on a free loopback port in front of the server at `upstream_url`; stopped by PID
    when the block ends."""
    if not PGBOUNCER.exists():
        raise RuntimeError(f"{PGBOUNCER} is missing: run `make pgbouncer`")
    settings = settings or PoolerSettings()
    work_dir = Path(tempfile.mkdtemp(prefix="taskapi-pgbouncer-"))
    try:
        port = free_port()
        password = secrets.token_urlsafe(18)
        run_as = _unprivileged_user(upstream_url)
        _write_files(work_dir, upstream_url, port, password, settings, run_as)
        command = [str(PGBOUNCER), str(work_dir / "pgbouncer.ini")]
        if run_as is not None:
            # PgBouncer refuses to run as root: it switches to `run_as`, who owns its files.
            command[1:1] = ["-u", run_as]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=log, cwd=work_dir)
            try:
                _wait_until_listening(port, process, log_path)
                yield PgBouncer(port, "taskapi", password, process.pid)
            finally:
                _stop(process)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _unprivileged_user(upstream_url: str) -> str | None:
    """Whom PgBouncer runs as: nobody but root needs to switch (None: stay who we are).

    As root, the owner of the server's socket folder (the embedded server's system user), who can
    reach the socket inside the server's data folder; `nobody` for a server over TCP.
    """
    if os.geteuid() != 0:
        return None
    socket_dir = parse_database_url(upstream_url).query.get("host", "")
    if socket_dir.startswith("/"):
        return pwd.getpwuid(Path(socket_dir).stat().st_uid).pw_name
    return "nobody"


def _write_files(
    work_dir: Path,
    upstream_url: str,
    port: int,
    password: str,
    settings: PoolerSettings,
    run_as: str | None,
) -> None:
    upstream = parse_database_url(upstream_url)
    host = upstream.query.get("host") or upstream.host or "127.0.0.1"
    user = upstream.user or "postgres"
    server = [f"host={host}", f"port={upstream.port or 5432}", f"user={user}"]
    if upstream.password:
        server.append(f"password={upstream.password}")
    # A TEST_DATABASE_URL that asks for TLS gets it from PgBouncer too.
    server_tls = upstream.query.get("sslmode", "disable")
    key_path, cert_path = work_dir / "server.key", work_dir / "server.crt"
    _write_self_signed_certificate(key_path, cert_path)
    ini = f"""
[databases]
; Any database the client names, on the tests' server, as its own user.
* = {" ".join(server)}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {work_dir / "users.txt"}
client_tls_sslmode = require
client_tls_key_file = {key_path}
client_tls_cert_file = {cert_path}
server_tls_sslmode = {server_tls}
pool_mode = transaction
max_prepared_statements = {settings.max_prepared_statements}
default_pool_size = {settings.default_pool_size}
max_client_conn = 1000
query_wait_timeout = 30
log_connections = 0
log_disconnections = 0
"""
    (work_dir / "pgbouncer.ini").write_text(ini)
    (work_dir / "users.txt").write_text(f'"taskapi" "{password}"\n')
    if run_as is not None:
        owner = pwd.getpwnam(run_as)
        work_dir.chmod(0o700)
        for path in (work_dir, *work_dir.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)


def _write_self_signed_certificate(key_path: Path, cert_path: Path) -> None:
    """A throwaway certificate: `sslmode=require` encrypts without checking who answers."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _wait_until_listening(port: int, process: "subprocess.Popen[bytes]", log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer exited with {process.returncode}: see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"PgBouncer did not listen within {STARTUP_TIMEOUT_SECONDS} s: see {log_path}"
    )


def _stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGINT (PgBouncer's safe shutdown: running transactions finish), SIGKILL after a while.

    Not SIGTERM: since 1.23 that waits for every client to disconnect, however long.
    """
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
