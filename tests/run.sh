#!/usr/bin/env bash
# run.sh - `make test`: unit tests, the OpenAPI lint and route check, then the
# black-box API suites against a real nginx + pool + PostgreSQL on the test
# instance (its own port and data, so a running `make run` is untouched).
# The stack is torn down on every exit path, also when a test fails.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=var/build${SANITIZE:+-san}
export SG_BIN="$ROOT/$BUILD/safeguard-api"
export SG_REQUEST_TIMEOUT=3
export SG_WORKERS=${SG_WORKERS:-4}
# workers are recycled often, so the suites run across recycling too
export SG_MAX_REQUESTS=${SG_MAX_REQUESTS:-400}
# rate limits the suites stay under, except the test that means to trip them
export SG_RATE_PER_TOKEN=100 SG_RATE_BURST_TOKEN=400 SG_RATE_PER_ADDRESS=2000 SG_RATE_BURST_ADDRESS=4000
VAR="$ROOT/var/test"
failed=()

step() { # step NAME COMMAND...: runs one suite, remembers a failure
	local name=$1
	shift
	printf '\n== %s\n' "$name"
	if "$@"; then
		printf -- '-- %s: ok\n' "$name"
	else
		printf -- '-- %s: FAILED\n' "$name"
		failed+=("$name")
	fi
}

teardown() { bash nginx/stack.sh down test >/dev/null 2>&1 || true; }
trap teardown EXIT

if [ -n "${SANITIZE:-}" ]; then
	make -s build SANITIZE="$SANITIZE" >/dev/null || exit 1
	# the workers run as the service user when the suites run as root (as
	# CI does): their reports go where that user may write, or ASan drops
	# them ("can't open file") and this check would see nothing
	SAN="$VAR/log/sanitizer"
	mkdir -p "$SAN"
	chmod 1777 "$SAN"
	rm -f "$SAN"/report.*
	export ASAN_OPTIONS="log_path=$SAN/report:detect_leaks=0:abort_on_error=1"
	export UBSAN_OPTIONS="log_path=$SAN/report:print_stacktrace=1:halt_on_error=1"
fi

step "unit tests" make -s unit SANITIZE="${SANITIZE:-}"
if [ -z "${SANITIZE:-}" ]; then
	step "fuzz targets (briefly; make fuzz for longer)" make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-5}"
fi
# The contract as its readers use it: two linters (tests/redocly.yaml,
# tests/.spectral.yaml), the error catalogue and problem page against the
# code, and a client generated from it that must type-check (tests/client/).
# Redocly's notice that Node.js 20 support ends is not a lint finding.
step "openapi lint (Redocly recommended-strict)" bash -c 'set -o pipefail; cd tests &&
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --format=stylish \
		../openapi/openapi.yaml 2>&1 | grep -vE "^\s*[║╔╚]"'
step "openapi lint (Spectral spectral:oas)" bash -c 'cd tests && npx --no-install spectral lint --fail-severity=warn ../openapi/openapi.yaml'
step "error codes and problem types match the OpenAPI document" node tests/tools/check-codes.mjs
step "the problems page matches the OpenAPI document" node tests/tools/problems-page.mjs
step "a client generated from the OpenAPI document type-checks" bash -c 'cd tests && npm run -s client:check'
step "routes match the OpenAPI document" bash -c "'$SG_BIN' --routes > '$ROOT/var/routes.txt' && node tests/tools/check-routes.mjs '$ROOT/var/routes.txt'"

# Migrations are forward-only (issue 9): no migration of the previous commit
# was changed (.ci/run checks the same first), and the guard does catch one:
# 001 was edited after 840774e.
migrations_guard() {
	bash tests/tools/migrations-guard.sh || return 1
	if SG_MIGRATIONS_BASE=840774e bash tests/tools/migrations-guard.sh >/dev/null 2>&1; then
		echo "migrations-guard.sh missed the edit of 001_platform.sql since 840774e"
		return 1
	fi
}
step "migrations are forward-only" migrations_guard
step "stack.sh keeps a cluster inside var/ whose admin password went" bash tests/tools/stack-secrets.sh

# A fresh instance for every run: the suites assert exact database state.
bash nginx/stack.sh reset test
# The upgrade (tests/upgrade.sh) leaves the instance's database as release 1
# left it (its migrations and demo data, applied the way it applied them),
# upgraded by today's migrations, and proves its schema equal to a fresh
# database's (pg_dump).  The API suites then run once, on that upgraded
# database: the comparison stands for the fresh one, and a second run of the
# suites on it would double their three minutes to prove the same.  If the
# upgrade fails, the suites run on a fresh database instead.
step "upgrade from release 1" bash tests/upgrade.sh
if [ ${#failed[@]} -gt 0 ] && [ "${failed[-1]}" = "upgrade from release 1" ]; then
	echo "(the API suites run on a fresh database)"
	bash nginx/stack.sh reset test
fi
if ! bash nginx/stack.sh up test; then
	tail -20 "$VAR/log/api.log" 2>/dev/null
	exit 1
fi

export SG_BASE_URL="http://127.0.0.1:$(. "$VAR/instance.env" && echo "$PORT")"
export SG_INSTANCE=test SG_VAR="$VAR" SG_ROOT="$ROOT"
export SG_ISSUER=https://idp.safeguard.test SG_AUDIENCE=safeguard-api
DATABASE_URL_ADMIN=$(bash nginx/stack.sh admin-url test)
export DATABASE_URL_ADMIN
# One file at a time (some disturb the stack on purpose), on any Node.js
# from 18 on; the counts are summed for the closing line.
api_tests() {
	local f out pass=0 fail=0
	for f in tests/tools/*.test.mjs tests/api/*.test.mjs; do
		out=$(node --test "$f" 2>&1)
		printf '%s\n' "$out" | grep -E '^(not ok|# (pass|fail))|^    not ok|# SKIP' | sed "s|^|$(basename "$f"): |"
		pass=$((pass + $(printf '%s\n' "$out" | sed -n 's/^# pass //p' | tail -1)))
		fail=$((fail + $(printf '%s\n' "$out" | sed -n 's/^# fail //p' | tail -1)))
		if printf '%s\n' "$out" | grep -q '^# fail [1-9]'; then
			printf '%s\n' "$out" | grep -vE '^\s+at ' | grep -B2 -A25 '^    not ok' | head -80
		fi
	done
	API_PASSED=$pass API_FAILED=$fail
	printf 'api: %d passed, %d failed\n' "$pass" "$fail"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
}
step "API tests" api_tests

if [ -n "${SANITIZE:-}" ] && ls "$SAN"/report.* >/dev/null 2>&1; then
	printf '\n== sanitizer reports\n'
	cat "$SAN"/report.*
	failed+=("sanitizer reports")
fi

if [ ${#failed[@]} -gt 0 ]; then
	printf '\nmake test: FAILED: %s\n' "${failed[*]}"
	exit 1
fi
printf '\nmake test: every suite passed\n'
printf '%d passed, %d failed\n' "$API_PASSED" "$API_FAILED"
