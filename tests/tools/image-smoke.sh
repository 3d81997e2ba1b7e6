#!/usr/bin/env bash
# image-smoke.sh - `make image-test`: runs the image (make image) the way a
# deployment does and calls it through the container's nginx.  The database
# is external (a fresh local cluster, stack.sh's `image` instance, on
# 127.0.0.1), the identity provider's public key is generated here and
# mounted read-only at /keys, issuer and audience are not the development
# ones, and the container migrates the database itself.  It then proves:
# /readyz, /docs, a token-authenticated GET /v1/me, a POST of a child read
# back and found in the database, a token for another audience refused, the
# HTTPS listener, no process in the container running as root, a clean
# SIGTERM stop, and a restart on the same database and secrets.
#
# It needs a container engine (docker or podman; deploy/image.sh picks it),
# so it is not part of `make test`.  The container shares the host's network
# so that it reaches the loopback PostgreSQL: IMAGE_PORT, IMAGE_TLS_PORT and
# IMAGE_PGPORT (38080, 38443, 54323) must be free.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${IMAGE:-safeguard:latest}
# shellcheck source-path=SCRIPTDIR/../.. source=deploy/image.sh
. "$ROOT/deploy/image.sh"
unset DATABASE_URL # the image instance's own cluster, never another
STACK=(bash "$ROOT/nginx/stack.sh")
ISSUER=https://idp.image-smoke.test
AUDIENCE=safeguard-image-smoke
UID_IN_IMAGE=10001

FAILED=0
ok() { printf 'ok    %s\n' "$*"; }
fail() {
	printf 'FAIL  %s\n' "$*"
	FAILED=1
}
expect() { # expect WHAT WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected $2, got $3"; fi
}

engine
has_image "$IMAGE" || die "$IMAGE is not built: make image"
e() { "$ENGINE" "${ENGINE_FLAGS[@]}" "$@"; }

export IMAGE_PORT=${IMAGE_PORT:-38080} IMAGE_TLS_PORT=${IMAGE_TLS_PORT:-38443} IMAGE_PGPORT=${IMAGE_PGPORT:-54323}
BASE_URL="http://127.0.0.1:$IMAGE_PORT"
NAME="safeguard-image-smoke-$$"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/safeguard-image-smoke.XXXXXX")

cleanup() {
	if [ "$FAILED" != 0 ] && e container exists "$NAME" 2>/dev/null; then
		say "the container's output:"
		e logs "$NAME" 2>&1 | tail -40 >&2 || true
	fi
	e rm -f "$NAME" >/dev/null 2>&1 || true
	"${STACK[@]}" reset image >/dev/null 2>&1 || true
	as_owner rm -rf "$WORK"
}
trap cleanup EXIT

# Files the container writes must be its user's (uid 10001): chown as root,
# inside podman's user namespace when rootless.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif [ "$ENGINE" = podman ]; then
		podman unshare "$@"
	else
		sudo "$@"
	fi
}

# A fresh database on loopback, as the external PostgreSQL.
"${STACK[@]}" reset image >/dev/null
"${STACK[@]}" pg-start image
ADMIN_URL=$("${STACK[@]}" admin-url image)

# The identity provider's key pair: the public half is mounted at /keys, the
# private half mints tokens with the image's own token tool.
mkdir -p "$WORK/keys" "$WORK/private" "$WORK/secrets"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/private/idp-es256.pem" 2>/dev/null
openssl pkey -in "$WORK/private/idp-es256.pem" -pubout -out "$WORK/keys/idp-es256.pem"
chmod 755 "$WORK" "$WORK/keys" "$WORK/private"
chmod 644 "$WORK/keys/idp-es256.pem" "$WORK/private/idp-es256.pem" # a throwaway key
as_owner chown "$UID_IN_IMAGE:$UID_IN_IMAGE" "$WORK/secrets"

token() { # token AUDIENCE AGENCY ROLES SUB
	e run --rm "${RUN_FLAGS[@]}" --network none --no-healthcheck -v "$WORK/private:/idp:ro" \
		-e SG_KEYS=/idp -e KID=idp-es256 -e ISS="$ISSUER" -e AUD="$1" -e AGENCY="$2" -e ROLES="$3" -e SUB="$4" \
		--entrypoint /app/var/build/safeguard-token "$IMAGE"
}

wait_ready() {
	for _ in $(seq 1 120); do
		curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1 && return 0
		[ "$(e inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
		sleep 1
	done
	fail "the container did not become ready on $BASE_URL"
	exit 1
}

# An engine's complaints (podman without systemd cannot time the image's
# health check, and says so at every start) are shown only when it fails.
quiet() {
	"$@" >"$WORK/engine.log" 2>&1 || {
		cat "$WORK/engine.log" >&2
		fail "$*"
		exit 1
	}
}

say "running $IMAGE ($ENGINE) against PostgreSQL on 127.0.0.1:$IMAGE_PGPORT"
quiet e run -d --name "$NAME" "${RUN_FLAGS[@]}" --network host \
	-e PORT="$IMAGE_PORT" -e TLS_PORT="$IMAGE_TLS_PORT" -e LISTEN_ADDR=127.0.0.1 \
	-e DATABASE_URL="$ADMIN_URL" -e SG_JWT_ISSUER="$ISSUER" -e SG_JWT_AUDIENCE="$AUDIENCE" -e SG_WORKERS=2 \
	-v "$WORK/keys:/keys:ro" -v "$WORK/secrets:/app/var/dev/secrets" "$IMAGE"
wait_ready
ok "/readyz answers through the container's nginx"

migrations=$(find "$ROOT/db/migrations" -name '[0-9]*.sql' | wc -l)
expect "the container applied every migration" "$migrations" \
	"$(psql "$ADMIN_URL" -XAtc 'select count(*) from safeguard.schema_migrations')"
expect "the API role's password is kept in the mounted secrets" yes \
	"$(as_owner test -s "$WORK/secrets/api.pw" && echo yes || echo no)"
procs=$(e exec "$NAME" ps -eo uid=,comm= || true)
expect "nginx and the pool run in the container" yes \
	"$(grep -qw nginx <<<"$procs" && grep -qw safeguard-api <<<"$procs" && echo yes || echo no)"
expect "no process in the container runs as root (all are uid $UID_IN_IMAGE)" "" \
	"$(awk -v u="$UID_IN_IMAGE" '$1 != u' <<<"$procs" | tr '\n' ' ')"
# the image's own health check (podman runs it on demand; docker on its timer)
if [ "$ENGINE" = podman ]; then
	health=$(podman "${ENGINE_FLAGS[@]}" healthcheck run "$NAME" 2>/dev/null && echo healthy || echo unhealthy)
else
	for _ in $(seq 1 30); do
		health=$(docker inspect -f '{{.State.Health.Status}}' "$NAME")
		[ "$health" = starting ] || break
		sleep 1
	done
fi
expect "the image's HEALTHCHECK passes" healthy "$health"
expect "/docs serves the API's documentation" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/docs/redoc.standalone.js")"

TOKEN=$(token "$AUDIENCE" police practitioner image-smoke)
me=$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE_URL/v1/me")
expect "GET /v1/me with a token of the mounted key" 200 "$(tail -1 <<<"$me")"
expect "GET /v1/me names the token's subject" image-smoke "$(head -1 <<<"$me" | jq -r .sub)"

key=$(cat /proc/sys/kernel/random/uuid)
child=$(curl -sS -w '\n%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: $key" \
	-H 'Content-Type: application/json' \
	-d '{"first_name":"Image","last_name":"Smoke","date_of_birth":"2015-06-01"}' "$BASE_URL/v1/children")
expect "POST /v1/children creates a child" 201 "$(tail -1 <<<"$child")"
id=$(head -1 <<<"$child" | jq -r .id)
expect "GET /v1/children/{id} reads it back" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE_URL/v1/children/$id")"
expect "the child is in the external database" "Image Smoke" \
	"$(psql "$ADMIN_URL" -XAtc "select first_name || ' ' || last_name from safeguard.children where id = '$id'")"

# nginx flushes its access log each second, and tail follows each second
logged=no
for _ in $(seq 1 10); do
	logs=$(e logs "$NAME" 2>&1)
	if grep -q '"uri":"/v1/children"' <<<"$logs" && grep -q '"route":"children.create"' <<<"$logs"; then
		logged=yes
		break
	fi
	sleep 1
done
expect "the container's log carries nginx's and the pool's" yes "$logged"

OTHER=$(token safeguard-api police practitioner image-smoke)
expect "a token for another audience is refused (SG_JWT_AUDIENCE is honoured)" 401 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OTHER" "$BASE_URL/v1/me")"
expect "HTTPS answers on TLS_PORT" 200 \
	"$(curl -ksS -o /dev/null -w '%{http_code}' "https://127.0.0.1:$IMAGE_TLS_PORT/readyz")"

quiet e stop -t 40 "$NAME"
expect "SIGTERM stops it cleanly" 0 "$(e inspect -f '{{.State.ExitCode}}' "$NAME")"

quiet e start "$NAME"
wait_ready
expect "restarted on the same database and secrets, it answers again" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE_URL/v1/me")"

if [ "$FAILED" != 0 ]; then
	say "the image smoke test FAILED"
	exit 1
fi
say "the image smoke test passed"
