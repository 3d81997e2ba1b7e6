#!/usr/bin/env bash
# pg.sh start|stop|migrate INSTANCE - controls only the PostgreSQL of an
# instance (the fault tests stop and restart it under a running pool).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in
start) exec bash "$here/../nginx/stack.sh" pg-start "${2:?instance}" ;;
stop) exec bash "$here/../nginx/stack.sh" pg-stop "${2:?instance}" ;;
migrate) exec bash "$here/../nginx/stack.sh" migrate "${2:?instance}" ;;
*) echo "usage: pg.sh start|stop|migrate INSTANCE" >&2; exit 2 ;;
esac
