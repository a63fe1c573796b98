#!/bin/sh
# Builds the image etcsql:VERSION (and etcsql:latest) from this source tree: the base image first
# if it is not there (build-base.sh), the release archive if it is not built (mvn package).
#   BASE   base image (default etcsql-base:bookworm-jre17)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BASE=${BASE:-etcsql-base:bookworm-jre17}
VERSION=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$ROOT/pom.xml" | head -1)
docker image inspect "$BASE" >/dev/null 2>&1 || BASE="$BASE" "$HERE/build-base.sh"
[ -f "$ROOT/dist/target/etcsql-$VERSION.tar.gz" ] || (cd "$ROOT" && mvn -q package -DskipTests)
# the archive alone as the build context (dist/target also holds test work directories)
CONTEXT=$(mktemp -d "${TMPDIR:-/tmp}/etcsql-image.XXXXXX")
trap 'rm -rf "$CONTEXT"' EXIT
cp "$ROOT/dist/target/etcsql-$VERSION.tar.gz" "$CONTEXT/"
docker build -q -f "$HERE/Dockerfile" --build-arg BASE="$BASE" --build-arg VERSION="$VERSION" \
  -t "etcsql:$VERSION" -t etcsql:latest "$CONTEXT" >/dev/null
echo "built etcsql:$VERSION"
