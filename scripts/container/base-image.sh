#!/bin/sh
# A Debian 12 (bookworm) base image with Python 3.11 and venv from Debian's packages, imported
# into podman: for machines that cannot pull docker.io/library/python. Does nothing when the
# image exists (FORCE=1 rebuilds it).
#
#   scripts/container/base-image.sh [IMAGE]     default: localhost/taskapi-base:bookworm
#
# Needs root, mmdebstrap and podman. The mirror is the host's deb822 Debian sources file when
# there is one (the same mirror and security suite, none of the host's third-party lists), else
# mmdebstrap's default; MIRROR=... (a URL, a "deb ..." line or a sources file) overrides it.
set -eu

IMAGE=${1:-localhost/taskapi-base:bookworm}
SUITE=${SUITE:-bookworm}

if [ "${FORCE:-0}" != 1 ] && podman image exists "$IMAGE"; then
    echo "base-image: $IMAGE exists"
    exit 0
fi

if [ -z "${MIRROR:-}" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    MIRROR=/etc/apt/sources.list.d/debian.sources
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
# The merged-usr hook makes a merged /usr without the usrmerge package, which pulls in perl.
mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-venv,ca-certificates \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$SUITE" "$work/rootfs.tar" ${MIRROR:+"$MIRROR"} >"$work/mmdebstrap.log" 2>&1 \
    || { cat "$work/mmdebstrap.log" >&2; echo "base-image: mmdebstrap failed" >&2; exit 1; }
made=$(date +%s)

podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$work/rootfs.tar" "$IMAGE" >/dev/null

echo "base-image: $IMAGE made: mmdebstrap $((made - start)) s," \
     "import $(($(date +%s) - made)) s"
