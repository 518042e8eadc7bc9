"""A local JWKS server for the tests, and tokens signed the way an issuer (or an attacker) would.

`JwksServer` serves a key set it can change, counts the fetches, and can go down. The token
helpers sign with the real algorithms (PyJWT's, over cryptography's keys) but assemble every part
themselves, so a test can send any header, any payload bytes and any signature text.
"""

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, get_default_algorithms

from tests.support.server import free_port

JWKS_PATH = "/api/auth/jwks"
ONE_HOUR = 3600
# How long a "hanging" server holds a request before it answers 503 anyway.
HANG_SECONDS = 30.0

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
Jwk = dict[str, Any]
DownMode = Literal["refusing", "failing", "hanging"]


# ---------------------------------------------------------------------------------------------
# Encoding


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS compact serialization requires (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def json_bytes(value: Mapping[str, Any] | bytes) -> bytes:
    """A header or payload as sent: bytes as given, a mapping as compact JSON."""
    if isinstance(value, bytes):
        return value
    return json.dumps(dict(value), separators=(",", ":")).encode()


def raw_json(members: Mapping[str, Any], **raw_values: str) -> bytes:
    """`members` as a JSON object, with each of `raw_values` spliced in as literal JSON text.

    For values `json.dumps` will not write, such as `1e999`, or that a test wants verbatim.
    """
    kept = {name: value for name, value in members.items() if name not in raw_values}
    parts = [f"{json.dumps(name)}:{json.dumps(value)}" for name, value in kept.items()]
    parts += [f"{json.dumps(name)}:{text}" for name, text in raw_values.items()]
    return ("{" + ",".join(parts) + "}").encode()


def craft(
    header: Mapping[str, Any] | bytes, payload: Mapping[str, Any] | bytes, signature: bytes | str
) -> str:
    """A token assembled exactly as given (a str signature is its text); nothing is checked."""
    signature_text = signature if isinstance(signature, str) else b64url(signature)
    return f"{b64url(json_bytes(header))}.{b64url(json_bytes(payload))}.{signature_text}"


def claims(
    subject: str,
    *,
    issuer: str | None = None,
    audience: str | list[str] | None = None,
    expires_in: int = ONE_HOUR,
    **extra: Any,
) -> dict[str, Any]:
    """The claims an issuer would put in a fresh token for `subject`."""
    now = int(time.time())
    issued: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + expires_in}
    if issuer is not None:
        issued["iss"] = issuer
    if audience is not None:
        issued["aud"] = audience
    return {**issued, **extra}


def without(members: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in members.items() if name not in names}


# ---------------------------------------------------------------------------------------------
# Keys


@dataclass(frozen=True)
class SigningKey:
    """A key that signs as `alg`; its public half as a JWK, PEM or raw bytes for the key set."""

    alg: str
    private: PrivateKey | bytes  # bytes: an HMAC secret
    kid: str | None = None

    def signature(self, signing_input: bytes) -> bytes:
        return get_default_algorithms()[self.alg].sign(signing_input, self.private)

    def header(self, **fields: Any) -> dict[str, Any]:
        """{"alg", "typ": "JWT", "kid"}, then `fields` (a field set to None is left out)."""
        header: dict[str, Any] = {"alg": self.alg, "typ": "JWT"}
        if self.kid is not None:
            header["kid"] = self.kid
        header.update(fields)
        return {name: value for name, value in header.items() if value is not None}

    def sign(
        self, payload: Mapping[str, Any] | bytes, header: Mapping[str, Any] | bytes | None = None
    ) -> str:
        """A token over `payload` (and `header`, by default this key's), signed with this key."""
        header_text = b64url(json_bytes(self.header() if header is None else header))
        return self.sign_parts(header_text, b64url(json_bytes(payload)))

    def sign_parts(self, header_text: str, payload_text: str) -> str:
        """A token whose first two parts are exactly these texts, signed over them as they are."""
        signing_input = f"{header_text}.{payload_text}"
        return f"{signing_input}.{b64url(self.signature(signing_input.encode('ascii')))}"

    @property
    def public_key(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
        if isinstance(self.private, bytes):
            raise TypeError("an HMAC secret has no public key")
        return self.private.public_key()

    def public_jwk(self, **fields: Any) -> Jwk:
        """The public JWK a key set publishes ({kty, crv, x, ..., kid, alg, use}), then `fields`.

        A field set to None is left out.
        """
        public = self.public_key
        jwk: Jwk
        if isinstance(public, ed25519.Ed25519PublicKey):
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        jwk = {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig", **fields}
        return {name: value for name, value in jwk.items() if value is not None}

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_raw(self) -> bytes:
        """The 32 bytes of an Ed25519 public key."""
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def self_signed_certificate(self) -> bytes:
        """A DER certificate for this key, signed by itself (what an attacker puts in `x5c`)."""
        if isinstance(self.private, bytes):
            raise TypeError("an HMAC secret has no certificate")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.invalid")])
        now = time.time()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_utc(now - ONE_HOUR))
            .not_valid_after(_utc(now + ONE_HOUR))
        )
        algorithm = None if isinstance(self.private, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        certificate = builder.sign(self.private, algorithm)
        return certificate.public_bytes(serialization.Encoding.DER)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _new_kid(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def ed25519_key(kid: str | None = None) -> SigningKey:
    """An EdDSA key, as Better Auth's jwt() plugin makes."""
    return SigningKey("EdDSA", ed25519.Ed25519PrivateKey.generate(), kid or _new_kid("ed25519"))


def es256_key(kid: str | None = None) -> SigningKey:
    return SigningKey("ES256", ec.generate_private_key(ec.SECP256R1()), kid or _new_kid("es256"))


def es512_key(kid: str | None = None) -> SigningKey:
    return SigningKey("ES512", ec.generate_private_key(ec.SECP521R1()), kid or _new_kid("es512"))


def rsa_key(kid: str | None = None, *, alg: Literal["RS256", "PS256"] = "RS256") -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(alg, private, kid or _new_kid(alg.lower()))


def hs256_key(secret: str | bytes) -> SigningKey:
    """The shared-secret scheme; no kid."""
    return SigningKey("HS256", secret.encode() if isinstance(secret, str) else secret)


# ---------------------------------------------------------------------------------------------
# The server


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: "JwksServer") -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", owner.port), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client that gave up on a hanging request is not an error of the test."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        status, body = owner._answer(self.path)
        if status is None:  # hanging: answer nothing until released, then fail
            owner._released.wait(HANG_SECONDS)
            status, body = 503, b'{"error":"down"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.server.owner._answer(self.path)
        self.send_error(405)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests count requests instead."""


class JwksServer:
    """A key set at http://127.0.0.1:<free port>/api/auth/jwks that a test can change at will.

    `fetches` counts the GETs of the key set, `requests` every request on any path. `go_down`
    refuses connections ("refusing"), answers 503 ("failing") or holds each request ("hanging");
    `come_up` serves again on the same port.
    """

    def __init__(self, keys: Iterable[Jwk] = (), *, path: str = JWKS_PATH) -> None:
        self.port = free_port()
        self.path = path
        self._lock = threading.Lock()
        self._keys: list[Jwk] = [dict(key) for key in keys]
        self._fetches = 0
        self._requests = 0
        self._down: DownMode | None = None
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}{self.path}"

    @property
    def fetches(self) -> int:
        with self._lock:
            return self._fetches

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def kids(self) -> list[str]:
        with self._lock:
            return [str(key.get("kid")) for key in self._keys]

    def publish(self, *keys: Jwk) -> None:
        """Add `keys` to the set (a key with the same kid is replaced)."""
        with self._lock:
            kids = {key.get("kid") for key in keys}
            self._keys = [key for key in self._keys if key.get("kid") not in kids]
            self._keys += [dict(key) for key in keys]

    def remove(self, *kids: str) -> None:
        with self._lock:
            self._keys = [key for key in self._keys if key.get("kid") not in kids]

    def start(self, *, down: DownMode | None = None) -> None:
        """Serve; or start already down, as an auth server that is not up yet."""
        if down is not None:
            self.go_down(down)
        else:
            self._listen()

    def go_down(self, how: DownMode = "refusing") -> None:
        with self._lock:
            self._down = how
            self._released.clear()
        if how == "refusing":
            self._close()
        else:
            self._listen()

    def come_up(self) -> None:
        with self._lock:
            self._down = None
        self._released.set()
        self._listen()

    def stop(self) -> None:
        self._released.set()
        self._close()

    def __enter__(self) -> "JwksServer":
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _answer(self, path: str) -> tuple[int | None, bytes]:
        """What a request for `path` gets now: (status, body), or (None, b"") when hanging."""
        with self._lock:
            self._requests += 1
            if path.split("?", 1)[0] != self.path:
                return 404, b'{"error":"not found"}'
            self._fetches += 1
            if self._down == "failing":
                return 503, b'{"error":"down"}'
            if self._down == "hanging":
                return None, b""
            return 200, json.dumps({"keys": self._keys}).encode()

    def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


@contextmanager
def jwks_server(
    keys: Iterable[Jwk] = (), *, path: str = JWKS_PATH, down: DownMode | None = None
) -> Iterator[JwksServer]:
    """A started `JwksServer`, stopped when the block ends."""
    server = JwksServer(keys, path=path)
    server.start(down=down)
    try:
        yield server
    finally:
        server.stop()
