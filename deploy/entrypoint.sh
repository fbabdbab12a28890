#!/bin/sh
# The image's entrypoint: bring the schema up to date (idempotent; Alembic serializes
# concurrent upgrades on PostgreSQL), then run `tierslieu <command>` listening on all
# interfaces (the container's port is published, TLS is the proxy's job).
set -eu
TIERSLIEU="${TIERSLIEU:-tierslieu}"
$TIERSLIEU db upgrade
if [ "${1:-}" = "serve" ]; then
    shift
    exec $TIERSLIEU serve --host "${TIERSLIEU_HOST:-0.0.0.0}" --port "${TIERSLIEU_PORT:-8000}" "$@"
fi
exec $TIERSLIEU "$@"
