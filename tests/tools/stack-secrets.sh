#!/usr/bin/env bash
# stack-secrets.sh - what `stack.sh up` does with a local cluster whose admin
# password is missing or changed.  A cluster inside var/<instance> holds data
# someone can still reach (restore the password file): it is never removed,
# `up` stops and says how to start over.  A cluster kept outside var/ (under
# root, when the service user cannot reach the checkout) after `rm -rf var`
# is forgotten, so that `rm -rf var` starts over.
#
# Runs stack.sh from a copy in a throwaway directory, on the image instance
# with a port of its own (STACK_TEST_PGPORT, default 54329): nothing of the
# checkout's var/ is touched.  Needs PostgreSQL's binaries (PGBIN).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=${STACK_TEST_PGPORT:-54329}
WORK=$(mktemp -d /var/tmp/sg-stack-secrets.XXXXXX)
chmod 755 "$WORK"

fail() { printf 'stack-secrets: FAILED: %s\n' "$*" >&2; exit 1; }
note() { printf 'stack-secrets: %s\n' "$*"; }

copy() { # copy DIR: a checkout of stack.sh alone
	mkdir -p "$1/nginx"
	cp "$ROOT/nginx/stack.sh" "$1/nginx/stack.sh"
}
stack() { # stack DIR COMMAND
	(cd "$1" && IMAGE_PGPORT=$PORT DATABASE_URL='' bash nginx/stack.sh "$2" image)
}
stored() { psql "$(stack "$1" admin-url)" -XAtq -c 'select x from kept' 2>/dev/null; }
cleanup() {
	for d in "$WORK"/*/; do
		[ -f "$d/nginx/stack.sh" ] && stack "$d" pg-stop >/dev/null 2>&1
		[ -f "$d/nginx/stack.sh" ] && rm -rf "$(stack "$d" state-dir 2>/dev/null)"
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

inside="$WORK/inside"
copy "$inside"
stack "$inside" pg-start 2>/dev/null
case "$(stack "$inside" state-dir)" in
"$inside"/var/*) ;;
*) fail "the cluster is not kept inside var/ ($(stack "$inside" state-dir))" ;;
esac
psql "$(stack "$inside" admin-url)" -Xq -v ON_ERROR_STOP=1 -c 'create table kept (x text)' \
	-c "insert into kept values ('a record')"
stack "$inside" pg-stop
secrets="$inside/var/image/secrets"
cp "$secrets/admin.pw" "$WORK/admin.pw"

note "secrets directory removed: up refuses, the cluster stays"
rm -rf "$secrets"
if out=$(stack "$inside" pg-start 2>&1); then
	fail "pg-start succeeded without the admin password: $out"
fi
grep -q 'reset image' <<<"$out" || fail "the refusal does not say how to start over: $out"
[ -s "$inside/var/image/state/pg/PG_VERSION" ] || fail "the cluster was removed: $out"
mkdir -p "$secrets" && cp "$WORK/admin.pw" "$secrets/admin.pw"
stack "$inside" pg-start 2>/dev/null
[ "$(stored "$inside")" = 'a record' ] || fail "the data is gone after the password was restored"
stack "$inside" pg-stop

note "admin password regenerated: up refuses, the cluster stays"
openssl rand -hex 24 >"$secrets/admin.pw"
if out=$(stack "$inside" pg-start 2>&1); then
	fail "pg-start succeeded with another admin password: $out"
fi
cp "$WORK/admin.pw" "$secrets/admin.pw"
stack "$inside" pg-start 2>/dev/null
[ "$(stored "$inside")" = 'a record' ] || fail "the data is gone after the password was restored"
stack "$inside" pg-stop

note "reset still starts over"
stack "$inside" reset >/dev/null 2>&1
stack "$inside" pg-start 2>/dev/null
[ -z "$(stored "$inside")" ] || fail "reset kept the data"
stack "$inside" pg-stop

# Under root, a checkout the service user cannot reach keeps its cluster in
# /var/tmp: rm -rf var does not reach it, and up forgets it.
if [ "$(id -u)" = 0 ] && id "${SG_SERVICE_USER:-safeguard}" >/dev/null 2>&1; then
	outside="$WORK/outside"
	copy "$outside"
	chmod 700 "$outside"
	stack "$outside" pg-start 2>/dev/null
	state=$(stack "$outside" state-dir)
	case "$state" in
	"$outside"/*) fail "the cluster is inside the unreachable checkout ($state)" ;;
	esac
	psql "$(stack "$outside" admin-url)" -Xq -v ON_ERROR_STOP=1 -c 'create table kept (x text)' \
		-c "insert into kept values ('a record')"
	stack "$outside" pg-stop
	note "secrets alone removed with the cluster outside var/: up refuses, the cluster stays"
	cp "$outside/var/image/secrets/admin.pw" "$WORK/outside.pw"
	rm -rf "$outside/var/image/secrets"
	if out=$(stack "$outside" pg-start 2>&1); then
		fail "pg-start succeeded without the admin password (cluster outside var/): $out"
	fi
	[ -s "$state/pg/PG_VERSION" ] || fail "the cluster outside var/ was removed with only its secrets gone: $out"
	mkdir -p "$outside/var/image/secrets" && cp "$WORK/outside.pw" "$outside/var/image/secrets/admin.pw"
	stack "$outside" pg-start 2>/dev/null
	[ "$(stored "$outside")" = 'a record' ] || fail "the data outside var/ is gone after the password was restored"
	stack "$outside" pg-stop
	note "rm -rf var with the cluster outside var/: up forgets it"
	rm -rf "${outside:?}/var"
	stack "$outside" pg-start 2>/dev/null || fail "pg-start after rm -rf var failed"
	[ -z "$(stored "$outside")" ] || fail "the cluster outside var/ was kept after rm -rf var"
	stack "$outside" pg-stop
	rm -rf "$state"
fi

note "secrets made by many calls at once: one password, never an empty one"
racing="$WORK/racing"
copy "$racing"
mkdir -p "$racing/var/image/secrets"
for i in $(seq 1 20); do
	(cd "$racing" && IMAGE_PGPORT=$PORT DATABASE_URL='' bash nginx/stack.sh admin-url image >"$WORK/race.$i" 2>/dev/null) &
done
wait
[ "$(cat "$WORK"/race.* | sort -u | wc -l)" = 1 ] || fail "calls at once made different passwords: $(cat "$WORK"/race.* | sort -u)"
grep -q 'sgadmin:[0-9a-f]\{48\}@' "$WORK/race.1" || fail "a call read an empty password: $(cat "$WORK/race.1")"
note "the same from an empty file (an interrupted older write), and no copy left behind"
for round in $(seq 1 20); do
	rm -f "$racing/var/image/secrets/"*
	: >"$racing/var/image/secrets/admin.pw"
	rm -f "$WORK"/race.*
	for i in $(seq 1 10); do
		(cd "$racing" && IMAGE_PGPORT=$PORT DATABASE_URL='' bash nginx/stack.sh admin-url image >"$WORK/race.$i" 2>/dev/null) &
	done
	wait
	[ "$(cat "$WORK"/race.* | sort -u | wc -l)" = 1 ] || fail "calls at once on an empty file made different passwords (round $round)"
	grep -q 'sgadmin:[0-9a-f]\{48\}@' "$WORK/race.1" || fail "a call read an empty password (round $round)"
	[ "$(ls -A "$racing/var/image/secrets")" = admin.pw ] || fail "copies left behind: $(ls -A "$racing/var/image/secrets")"
done
note "passed"
