#!/usr/bin/env bash
# Builds PgBouncer into $1 (bin/pgbouncer), for the tests that run the service through a pooler in
# transaction mode, as Neon's pooled endpoint is. Debian 12 ships PgBouncer 1.18, which has no
# max_prepared_statements (1.21+), and trixie's binary package needs a newer libc: so this builds
# the release Debian 13 ships from Debian's own source tarball, checked against the SHA-256 that
# Debian's Sources index lists for it. The binary is installed last, so it is also make's stamp.
set -euo pipefail

version=1.24.1
sha256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
url="http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_${version}.orig.tar.gz"

prefix="$(realpath -m "${1:?usage: build.sh <install prefix>}")"

# Build tools and headers, from Debian's packages when they are missing (CI runs as root).
missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists libevent 2>/dev/null || missing+=(libevent-dev)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
if ((${#missing[@]})); then
    echo "installing PgBouncer's build dependencies: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Python, not curl: a fresh machine has python3 (make test needs it) but may lack curl.
python3 - "$url" "$sha256" "$work/source.tar.gz" <<'PY'
import hashlib
import sys
import urllib.request

url, expected, path = sys.argv[1:]
with urllib.request.urlopen(url, timeout=120) as response:
    data = response.read()
actual = hashlib.sha256(data).hexdigest()
if actual != expected:
    sys.exit(f"{url}: SHA-256 is {actual}, expected {expected}")
with open(path, "wb") as out:
    out.write(data)
PY

tar -xzf "$work/source.tar.gz" -C "$work"
cd "$work/pgbouncer-$version"
echo "building PgBouncer $version (log: $work/build.log, kept on failure in $prefix.build.log)"
# TLS is built in (the tests connect with sslmode=require, as a pasted Neon URL does); DNS
# lookups use libevent's, so c-ares is not needed.
if ! { ./configure --prefix="$prefix" --with-openssl && make -j"$(nproc)"; } >"$work/build.log" 2>&1; then
    mkdir -p "$(dirname "$prefix")"
    cp "$work/build.log" "$prefix.build.log"
    tail -n 40 "$work/build.log" >&2
    echo "PgBouncer $version failed to build: see $prefix.build.log" >&2
    exit 1
fi
mkdir -p "$prefix/bin"
cp pgbouncer "$prefix/bin/.pgbouncer.new"
mv "$prefix/bin/.pgbouncer.new" "$prefix/bin/pgbouncer"
"$prefix/bin/pgbouncer" --version | head -n 1
