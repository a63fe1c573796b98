#!/bin/sh
# Builds the base image etcsql-base:bookworm-jre17 without a registry: a minimal Debian bookworm
# root file system with OpenJDK 17's headless runtime, made with debootstrap from Debian's own
# package mirror and loaded with `docker import`. Needs root, debootstrap and a running Docker
# engine (Debian: apt-get install -y debootstrap docker.io; dockerd &).
#   MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   BASE     image name (default etcsql-base:bookworm-jre17)
set -eu
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE=${BASE:-etcsql-base:bookworm-jre17}
ROOTFS=$(mktemp -d "${TMPDIR:-/tmp}/etcsql-rootfs.XXXXXX")
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
  || { tail -20 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"
# what an image never needs: downloaded packages, package lists, documentation
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$BASE" >/dev/null
echo "built $BASE ($(docker image inspect -f '{{.Size}}' "$BASE" | awk '{printf "%d MB", $1 / 1e6}'))"
