#!/usr/bin/env bash
# valgrind.sh - `make valgrind`: the unit tests, then the pool itself under
# memcheck while the token and request suites and the certificate tests run
# against it.  Fails on any memory error or definite leak in any process.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VAR="$ROOT/var/test"
LOGS="$VAR/log/valgrind"
rm -rf "$LOGS" && mkdir -p "$LOGS"
trap 'bash nginx/stack.sh down test >/dev/null 2>&1 || true' EXIT

VG="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=3"
echo "== unit tests under valgrind"
CK_FORK=no $VG var/build/unit-tests || exit 1

echo "== the pool under valgrind (token and request suites)"
bash nginx/stack.sh reset test >/dev/null 2>&1
# under memcheck a SCRAM login alone takes seconds: give connecting time
export SG_REQUEST_TIMEOUT=30 SG_WORKERS=2 SG_DB_CONNECT_TIMEOUT_MS=10000
export SG_RATE_PER_TOKEN=100 SG_RATE_BURST_TOKEN=400 SG_RATE_PER_ADDRESS=2000 SG_RATE_BURST_ADDRESS=4000
export SG_WRAPPER="$VG --log-file=$LOGS/%p.log"
bash nginx/stack.sh up test || exit 1
export SG_BASE_URL="http://127.0.0.1:$(. "$VAR/instance.env" && echo "$PORT")" SG_INSTANCE=test SG_VAR="$VAR" SG_ROOT="$ROOT"
export SG_ISSUER=https://idp.safeguard.test SG_AUDIENCE=safeguard-api
DATABASE_URL_ADMIN=$(bash nginx/stack.sh admin-url test)
export DATABASE_URL_ADMIN
# the per-token flood (hundreds of requests at once, to reach the limit)
# measures the limit, not memory: under memcheck two workers take seconds to
# drain it and nginx finds the pool's socket queue full (502), so the test
# skips itself here (SG_UNDER_VALGRIND); the limit's arithmetic runs under
# valgrind in the unit tests (ratelimit)
export SG_UNDER_VALGRIND=1
node --test --test-name-pattern='^(?!answers 429)' tests/api/tokens.test.mjs tests/api/requests.test.mjs
rc=$?
# certificates: Pango, cairo and fontconfig in the workers, freed at their exit
node --test --test-name-pattern='as a PDF that opens|right-to-left names' tests/api/training-register.test.mjs \
	tests/api/attack-training.test.mjs || rc=$?
bash nginx/stack.sh down test >/dev/null 2>&1
sleep 1
if grep -lE "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|Invalid (read|write)|uninitialised" "$LOGS"/*.log 2>/dev/null; then
	cat "$LOGS"/*.log | head -100
	echo "valgrind: memory errors or leaks (logs in $LOGS)"
	exit 1
fi
[ $rc -eq 0 ] || exit $rc
echo "valgrind: clean ($(ls "$LOGS" | wc -l) processes)"
