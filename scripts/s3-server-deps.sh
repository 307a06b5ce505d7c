#!/usr/bin/env bash
# Installs the S3-compatible test server (moto in server mode) into a project-local
# virtualenv .venv/, for test/lake/storage-s3.test.ts. Idempotent: quiet and fast when the
# pinned version is already there. Called by .ci/run before `npm test`.
# The pinned moto must answer 412 to a PutObject with If-None-Match: * on an existing key
# (conditional writes); the S3 tests check that it does.
set -euo pipefail
MOTO_VERSION=5.2.5

cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.moto-server-$MOTO_VERSION"

if [[ -x "$VENV/bin/moto_server" && -f "$STAMP" ]]; then
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
rm -f "$VENV"/.moto-server-*
touch "$STAMP"
