#!/usr/bin/env bash
# stack.sh - brings a Safeguard instance up and down: PostgreSQL (a local
# cluster under var/<instance>, or DATABASE_URL), migrations and demo data,
# development keys, the pool and nginx.  `make run`, `make test`, `make bench`
# and the Dockerfile all go through here so they cannot drift apart.
#
#   stack.sh deps                 install missing Debian packages (chromium too,
#                                 for the browser test) and npm modules
#   stack.sh up INSTANCE          start everything, return once /readyz answers
#   stack.sh down INSTANCE        stop everything that `up` started
#   stack.sh status|logs INSTANCE
#   stack.sh token INSTANCE       mint a development token (see README)
#   stack.sh pg-start|pg-stop|migrate INSTANCE
#
# Instances: dev (PORT, default 8080), test (18080), bench (28080); each has
# its own var/<instance>/ and PostgreSQL port, so `make test` never touches a
# running `make run`.  A fourth, image, is only a PostgreSQL (port 54323) for
# the container that tests/tools/image-smoke.sh runs (ports 38080, 38443).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SERVICE_USER=${SG_SERVICE_USER:-safeguard}
ISSUER=${SG_JWT_ISSUER:-https://idp.safeguard.test}
AUDIENCE=${SG_JWT_AUDIENCE:-safeguard-api}

say() { printf 'safeguard: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- dependencies -----------------------------------------------------------

DEBIAN_PACKAGES="build-essential pkg-config libfcgi-dev libjansson-dev libpq-dev libjwt-dev libssl-dev
  check nginx-light postgresql postgresql-contrib openssl curl nodejs npm procps wrk
  libcairo2-dev libpango1.0-dev fonts-dejavu-core poppler-utils clang clang-format cppcheck valgrind"

deps() {
	local missing=() p
	for p in $DEBIAN_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	# nginx-light is enough, but any nginx package already installed will do
	if [[ " ${missing[*]} " == *" nginx-light "* ]] && command -v nginx >/dev/null; then
		missing=("${missing[@]/nginx-light/}")
	fi
	if command -v node >/dev/null && command -v npm >/dev/null; then
		missing=("${missing[@]/nodejs/}")
		missing=("${missing[@]/npm/}")
	fi
	read -r -a missing <<<"${missing[*]}"
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing Debian packages: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# A headless browser for the CORS test (tests/browser/).  On its own and
	# not fatal: without it only that test is skipped, and says so.
	if ! command -v chromium >/dev/null; then
		say "installing Debian package: chromium (the browser CORS test)"
		if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
			say "chromium could not be installed: the browser CORS test will be skipped"
		fi
	fi
	# Debian's nginx package starts a system nginx on port 80; ours runs on
	# its own, so leave the system one alone.
	if [ "$(id -u)" = 0 ] && ! id "$SERVICE_USER" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
	fi
	if [ ! -d "$ROOT/tests/node_modules" ] || [ "$ROOT/tests/package-lock.json" -nt "$ROOT/tests/node_modules/.package-lock.json" ]; then
		say "installing npm modules (tests/package-lock.json)"
		(cd "$ROOT/tests" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	fi
}

# ---- instance layout ----------------------------------------------------------

instance() {
	INST=${1:?instance name: dev, test or bench}
	local port tls pg
	case "$INST" in
	dev) port=${PORT:-} tls=${TLS_PORT:-} pg=${SG_PG_PORT:-} PORT=8080 TLS_PORT=8443 PGPORT=54320 ;;
	test) port=${TEST_PORT:-} tls=${TEST_TLS_PORT:-} pg=${TEST_PGPORT:-} PORT=18080 TLS_PORT=18443 PGPORT=54321 ;;
	bench) port=${BENCH_PORT:-} tls=${BENCH_TLS_PORT:-} pg=${BENCH_PGPORT:-} PORT=28080 TLS_PORT=28443 PGPORT=54322 ;;
	image) port=${IMAGE_PORT:-} tls=${IMAGE_TLS_PORT:-} pg=${IMAGE_PGPORT:-} PORT=38080 TLS_PORT=38443 PGPORT=54323 ;;
	*) die "unknown instance $INST (dev, test, bench or image)" ;;
	esac
	VAR="$ROOT/var/$INST"
	mkdir -p "$VAR/run" "$VAR/log" "$VAR/keys/private" "$VAR/keys/public" "$VAR/secrets"
	chmod 700 "$VAR/secrets" "$VAR/keys/private"
	# The ports of the last `up` are kept, so that stop, status and token
	# find the instance; ports given now win.
	if [ -f "$VAR/instance.env" ]; then
		# shellcheck disable=SC1091
		. "$VAR/instance.env"
	fi
	PORT=${port:-$PORT} TLS_PORT=${tls:-$TLS_PORT} PGPORT=${pg:-$PGPORT}
	state_dir
}

# The service user (PostgreSQL, the pool's workers, nginx's workers) must
# reach the data directory and the socket.  Under root that user is
# $SERVICE_USER, and a checkout inside a private directory is out of its
# reach; then the state lives in /var/tmp, keyed by the instance's path.
state_dir() {
	STATE="$VAR/state"
	RUN_AS=()
	if [ "$(id -u)" = 0 ]; then
		RUN_AS=(runuser -u "$SERVICE_USER" --)
		mkdir -p "$STATE"
		chown "$SERVICE_USER:" "$STATE"
		if ! runuser -u "$SERVICE_USER" -- test -w "$STATE" 2>/dev/null; then
			STATE="/var/tmp/safeguard-$(printf '%s' "$VAR" | sha256sum | cut -c1-16)"
			mkdir -p "$STATE"
			chown "$SERVICE_USER:" "$STATE"
			chmod 700 "$STATE"
		fi
	fi
	mkdir -p "$STATE"
	PGDATA="$STATE/pg"
	SOCKET="$STATE/api.sock"
}

as_service() { (cd / && "${RUN_AS[@]}" "$@"); }

# ---- keys -------------------------------------------------------------------

keys() {
	local k="$VAR/keys"
	if [ ! -s "$k/private/dev-rs256.pem" ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/private/dev-rs256.pem" 2>/dev/null
		openssl pkey -in "$k/private/dev-rs256.pem" -pubout -out "$k/public/dev-rs256.pem"
	fi
	if [ ! -s "$k/private/dev-es256.pem" ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/private/dev-es256.pem" 2>/dev/null
		openssl pkey -in "$k/private/dev-es256.pem" -pubout -out "$k/public/dev-es256.pem"
	fi
	chmod 600 "$k"/private/*.pem
	chmod 644 "$k"/public/*.pem
	# HS256 is off unless a deployment turns it on; the test instance does,
	# to prove that it works and that it cannot be confused with RS256.
	if [ "$INST" = test ] && [ ! -s "$k/hs256.secret" ]; then
		openssl rand -hex 24 >"$k/hs256.secret"
		chmod 600 "$k/hs256.secret"
	fi
}

# A self-signed certificate for the HTTPS listener (local use and tests; a
# deployment mounts its own at var/<instance>/tls/server.{crt,key}).
tls() {
	mkdir -p "$VAR/tls"
	[ -s "$VAR/tls/server.crt" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$VAR/tls/server.key" -out "$VAR/tls/server.crt" 2>/dev/null
	chmod 600 "$VAR/tls/server.key"
}

# ---- PostgreSQL ---------------------------------------------------------------

secret() { # secret NAME: a random password kept under var/<instance>/secrets
	local f="$VAR/secrets/$1"
	# made under a lock on the secrets folder, whole under another name, then
	# moved into place: calls at once read one password, never a half-written
	# or empty file, and a call killed half-way leaves no copy behind
	if [ ! -s "$f" ]; then
		(
			umask 077
			exec 9<"$VAR/secrets"
			flock 9
			[ -s "$f" ] && exit 0
			t="$f.new.$$"
			trap 'rm -f "$t"' EXIT
			openssl rand -hex 24 >"$t"
			mv -f "$t" "$f"
		)
	fi
	cat "$f"
}

pg_local() { [ -z "${DATABASE_URL:-}" ]; }

admin_url() {
	if pg_local; then
		printf 'postgresql://sgadmin:%s@127.0.0.1:%s/safeguard' "$(secret admin.pw)" "$PGPORT"
	else
		printf '%s' "$DATABASE_URL"
	fi
}

pg_init() {
	# A cluster whose admin password is gone is one that outlived its
	# var/<instance> (`rm -rf var` starts over): under root its data is
	# kept outside var/ (state_dir), where the removal did not reach, and
	# nobody can log in to it any more.  It is forgotten, as var/ was.  The
	# cluster keeps the digest of the password it was made with, which a
	# password made after the removal does not match.
	# Only then: a cluster inside var/<instance>, or one outside whose
	# var/<instance> is still the one that made it (its initdb.log is
	# there), lost only its password (secrets deleted or regenerated); the
	# data is whole and reachable again with the password restored, so it
	# is never removed here (`reset` is how to start over).
	if [ -s "$PGDATA/PG_VERSION" ] && { [ ! -s "$VAR/secrets/admin.pw" ] ||
		{ [ -s "$PGDATA/safeguard-admin.sha256" ] &&
			[ "$(sha256sum <"$VAR/secrets/admin.pw")" != "$(cat "$PGDATA/safeguard-admin.sha256")" ]; }; }; then
		case "$PGDATA" in
		"$VAR"/*) false ;;
		*) [ ! -e "$VAR/log/initdb.log" ] ;;
		esac || die "the PostgreSQL cluster in $PGDATA was made with another admin password than $VAR/secrets/admin.pw (missing or changed): restore that file, or start over with bash nginx/stack.sh reset $INST (which removes the cluster)"
		say "forgetting the PostgreSQL cluster in $PGDATA: its password went with $VAR/secrets"
		as_service "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
		rm -rf "$PGDATA"
	fi
	[ -s "$PGDATA/PG_VERSION" ] && return 0
	say "creating a PostgreSQL cluster in $PGDATA"
	mkdir -p "$PGDATA"
	[ ${#RUN_AS[@]} -gt 0 ] && chown "$SERVICE_USER:" "$PGDATA"
	chmod 700 "$PGDATA"
	local pwfile
	pwfile=$(mktemp)
	secret admin.pw >"$pwfile"
	[ ${#RUN_AS[@]} -gt 0 ] && chown "$SERVICE_USER:" "$pwfile"
	as_service "$PGBIN/initdb" -D "$PGDATA" -U sgadmin --pwfile="$pwfile" --auth=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 >"$VAR/log/initdb.log" 2>&1 || { rm -f "$pwfile"; die "initdb failed: see $VAR/log/initdb.log"; }
	rm -f "$pwfile"
	sha256sum <"$VAR/secrets/admin.pw" >"$PGDATA/safeguard-admin.sha256"
	cat >>"$PGDATA/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $PGPORT
		unix_socket_directories = ''
		max_connections = 300
		shared_buffers = 256MB
		fsync = on
		log_min_messages = warning
		log_statement = 'none'
	EOF
}

# The unix socket the pool reaches PostgreSQL through (no TCP on one host);
# empty when the path would be too long for a socket address.
pg_socket_dir() {
	local dir="$STATE/pgsock" # $STATE: where the service user reaches, also under root
	[ $((${#dir} + 20)) -lt 100 ] && printf '%s' "$dir"
}

# Settings for this machine, rewritten at every start (so existing clusters
# get them too) and included after postgresql.conf's own:
# - the unix socket;
# - WAL sized so that a benchmark or a busy hour never waits for a checkpoint
#   or for a new WAL segment to be made (min_wal_size keeps them made);
# - no JIT: compiling a plan costs tens of milliseconds on the first run of a
#   query, which is where the first requests' p99 outliers came from.
# Durability is untouched: fsync and synchronous_commit stay on.
pg_settings() {
	local sock
	sock=$(pg_socket_dir)
	if [ -n "$sock" ]; then
		mkdir -p "$sock"
		[ ${#RUN_AS[@]} -gt 0 ] && chown "$SERVICE_USER:" "$sock"
		chmod 711 "$sock"
	fi
	cat >"$PGDATA/safeguard.conf" <<-EOF
		unix_socket_directories = '$sock'
		unix_socket_permissions = 0777
		wal_buffers = 16MB
		min_wal_size = 1GB
		max_wal_size = 4GB
		checkpoint_timeout = 15min
		checkpoint_completion_target = 0.9
		jit = off
	EOF
	[ ${#RUN_AS[@]} -gt 0 ] && chown "$SERVICE_USER:" "$PGDATA/safeguard.conf"
	grep -q "^include_if_exists = 'safeguard.conf'" "$PGDATA/postgresql.conf" ||
		echo "include_if_exists = 'safeguard.conf'" >>"$PGDATA/postgresql.conf"
}

pg_start() {
	pg_local || return 0
	pg_init
	pg_settings
	if ! as_service "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		as_service "$PGBIN/pg_ctl" -D "$PGDATA" -w -t 60 -l "$PGDATA/server.log" start >/dev/null ||
			die "PostgreSQL did not start: see $PGDATA/server.log"
	fi
	local url
	url=$(printf 'postgresql://sgadmin:%s@127.0.0.1:%s/postgres' "$(secret admin.pw)" "$PGPORT")
	if [ "$(psql "$url" -XAtqc "select 1 from pg_database where datname = 'safeguard'")" != 1 ]; then
		psql "$url" -Xqc "create database safeguard" >/dev/null
	fi
}

pg_stop() {
	pg_local || return 0
	[ -s "$PGDATA/PG_VERSION" ] || return 0
	if as_service "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		as_service "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
	fi
}

# Roles, then every migration not yet applied, each in its own transaction.
# Migrations are forward-only: schema_migrations keeps the sha256 of each
# applied file, and a file that no longer matches is refused before anything
# is applied (put the change in a new numbered file instead).  Rows from
# before checksums were kept (NULL) take the file's current checksum once:
# 004_forward_fixes brings what those files built up to what they build now.
migrate() {
	local url pw f base v name sum fixes=() pending=()
	local -A have_name=() have_sum=() tree=() tree_sum=()
	url=$(admin_url)
	pw=$(secret api.pw)
	psql "$url" -Xq -v ON_ERROR_STOP=1 -v pw="$pw" >/dev/null <<-'EOF'
		set client_min_messages = warning;
		select format('create role safeguard_owner nologin')
		  where not exists (select 1 from pg_roles where rolname = 'safeguard_owner') \gexec
		select format('create role safeguard_api login')
		  where not exists (select 1 from pg_roles where rolname = 'safeguard_api') \gexec
		alter role safeguard_api with login nosuperuser nobypassrls nocreatedb nocreaterole password :'pw';
		alter role safeguard_owner with nologin nobypassrls;
		select format('grant create on database %I to safeguard_owner', current_database()) \gexec
		select format('grant connect on database %I to safeguard_api', current_database()) \gexec
		grant safeguard_owner to current_user;
		create schema if not exists safeguard authorization safeguard_owner;
		set role safeguard_owner;
		create table if not exists safeguard.schema_migrations (
			version integer primary key,
			name text not null,
			applied_at timestamptz not null default now(),
			checksum text  -- sha256 of the file as applied
		);
		-- databases from before checksums were kept (004 adds it too)
		alter table safeguard.schema_migrations add column if not exists checksum text;
		grant usage on schema safeguard to safeguard_api;
		grant select on safeguard.schema_migrations to safeguard_api;
	EOF
	while IFS='|' read -r v name sum; do
		[ -n "$v" ] || continue
		have_name[$v]=$name have_sum[$v]=$sum
	done < <(psql "$url" -XAtq -v ON_ERROR_STOP=1 -c \
		"select version, name, coalesce(checksum, '') from safeguard.schema_migrations order by version")
	for f in "$ROOT"/db/migrations/[0-9]*.sql; do
		[ -e "$f" ] || continue
		base=$(basename "$f")
		[[ "$base" =~ ^[0-9]+_[a-z0-9_]+\.sql$ ]] || die "migration file name $base is not NNN_name.sql"
		v=$(printf '%s' "$base" | sed 's/_.*//; s/^0*//')
		[ -z "${tree[$v]:-}" ] || die "migrations ${tree[$v]} and $base have the same version $v"
		tree[$v]=$base
		sum=$(sha256sum "$f" | cut -c1-64)
		tree_sum[$v]=$sum
		if [ -z "${have_name[$v]+x}" ]; then
			pending+=("$v")
		elif [ "${have_name[$v]}.sql" != "$base" ]; then
			die "migration $v was applied as ${have_name[$v]}.sql, but db/migrations has $base: applied migrations are never renamed"
		elif [ -z "${have_sum[$v]}" ]; then
			fixes+=("update safeguard.schema_migrations set checksum = '$sum' where version = $v and checksum is null;")
		elif [ "${have_sum[$v]}" != "$sum" ]; then
			die "migration $base was changed after it was applied: its sha256 is $sum, the applied file's was ${have_sum[$v]}. Migrations are forward-only: restore the applied file (git log -p -- db/migrations/$base) and put the change in a new numbered migration"
		fi
	done
	for v in "${!have_name[@]}"; do
		[ -n "${tree[$v]:-}" ] ||
			die "the database has migration $v (${have_name[$v]}.sql) that db/migrations does not have: this tree is older than the database"
	done
	if [ ${#fixes[@]} -gt 0 ]; then
		say "recording the checksums of ${#fixes[@]} migrations applied before checksums were kept"
		printf '%s\n' "${fixes[@]}" | psql "$url" -Xq -1 -v ON_ERROR_STOP=1 >/dev/null
	fi
	# in version order (the glob sorts by name; versions are zero-padded alike)
	for v in "${pending[@]}"; do
		say "applying migration ${tree[$v]}"
		psql "$url" -Xq -1 -v ON_ERROR_STOP=1 \
			-c 'set role safeguard_owner' -f "$ROOT/db/migrations/${tree[$v]}" \
			-c "insert into safeguard.schema_migrations (version, name, checksum) values ($v, '${tree[$v]%.sql}', '${tree_sum[$v]}')" >/dev/null
	done
}

# Demo data, each file once per database (`make run` only), so that running
# `make run` again is harmless: a demo row the API has moved on since (a CME
# case resolved, a referral closed) is never inserted again over it, which
# the data's own triggers refuse (an enquiry on a resolved case) or which
# would bring back what was changed.  safeguard.demo_data_loaded names the
# files loaded, beside schema_migrations.  A database whose demo data was
# loaded before the table was kept (every file at every start) has the demo
# Carter family: its files count as loaded.
seed() {
	local url f name files=()
	url=$(admin_url)
	for f in "$ROOT"/db/demo/*.sql; do
		[ -e "$f" ] || continue
		name=$(basename "$f")
		[[ "$name" =~ ^[0-9]+_[a-z0-9_]+\.sql$ ]] || die "demo data file name $name is not NNN_name.sql"
		files+=("$name")
	done
	psql "$url" -Xq -v ON_ERROR_STOP=1 >/dev/null <<-'EOF'
		set client_min_messages = warning;
		set role safeguard_owner;
		create table if not exists safeguard.demo_data_loaded (
			name text primary key,
			loaded_at timestamptz not null default now()
		);
	EOF
	if [ "$(psql "$url" -XAtq -v ON_ERROR_STOP=1 -c "select count(*) from safeguard.demo_data_loaded")" = 0 ] &&
		[ "$(psql "$url" -XAtq -v ON_ERROR_STOP=1 -c "select count(*) from safeguard.families where id = '00000000-0000-4000-8000-00000000f001'")" = 1 ]; then
		for name in "${files[@]}"; do
			psql "$url" -Xq -v ON_ERROR_STOP=1 -c 'set role safeguard_owner' \
				-c "insert into safeguard.demo_data_loaded (name) values ('$name') on conflict do nothing" >/dev/null
		done
	fi
	for name in "${files[@]}"; do
		[ "$(psql "$url" -XAtq -v ON_ERROR_STOP=1 -c "select count(*) from safeguard.demo_data_loaded where name = '$name'")" = 0 ] || continue
		psql "$url" -Xq -1 -v ON_ERROR_STOP=1 -c 'set role safeguard_owner' -f "$ROOT/db/demo/$name" \
			-c 'set role safeguard_owner' -c "insert into safeguard.demo_data_loaded (name) values ('$name')" >/dev/null
	done
}

# ---- the pool and nginx -------------------------------------------------------

bin() { printf '%s' "${SG_BIN:-$ROOT/var/build/safeguard-api}"; }

pool_pid() { [ -s "$VAR/run/pool.pid" ] && kill -0 "$(cat "$VAR/run/pool.pid")" 2>/dev/null && cat "$VAR/run/pool.pid"; }
nginx_pid() { [ -s "$VAR/run/nginx.pid" ] && kill -0 "$(cat "$VAR/run/nginx.pid")" 2>/dev/null && cat "$VAR/run/nginx.pid"; }

pool_start() {
	pool_pid >/dev/null && return 0
	local hs=() user=()
	[ "$INST" = test ] && hs=(SG_JWT_HS256_SECRET_FILE="$VAR/keys/hs256.secret" SG_JWT_HS256_KID=dev-hs256)
	[ ${#RUN_AS[@]} -gt 0 ] && user=(SG_USER="$SERVICE_USER")
	local dburl
	rates
	if pg_local; then
		local sock
		sock=$(pg_socket_dir)
		dburl="host=${sock:-127.0.0.1} port=$PGPORT dbname=safeguard"
	else
		dburl=$DATABASE_URL
	fi
	# the secret that seals delta sync cursors: made once, kept with the
	# instance's other secrets, so devices' cursors outlive a restart
	[ -n "${SG_CURSOR_KEY_FILE:-}" ] || secret cursor.key >/dev/null
	env "${hs[@]}" "${user[@]}" \
		SG_SOCKET="$SOCKET" SG_PID_FILE="$VAR/run/pool.pid" \
		SG_CURSOR_KEY_FILE="${SG_CURSOR_KEY_FILE:-$VAR/secrets/cursor.key}" \
		SG_DATABASE_URL="$dburl" SG_DB_USER=safeguard_api SG_DB_PASSWORD="$(secret api.pw)" \
		SG_JWT_ISSUER="$ISSUER" SG_JWT_AUDIENCE="$AUDIENCE" SG_JWT_KEY_DIR="${SG_JWT_KEY_DIR:-$VAR/keys/public}" \
		SG_REQUEST_TIMEOUT="${SG_REQUEST_TIMEOUT:-30}" SG_RATE_PER_TOKEN="$RATE_TOKEN" SG_RATE_BURST_TOKEN="$BURST_TOKEN" \
		${SG_WORKERS:+SG_WORKERS="$SG_WORKERS"} ${SG_MAX_REQUESTS:+SG_MAX_REQUESTS="$SG_MAX_REQUESTS"} \
		${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
		setsid ${SG_WRAPPER:-} "$(bin)" >>"$VAR/log/api.log" 2>&1 </dev/null &
	local i
	for i in $(seq 1 300); do
		[ -S "$SOCKET" ] && pool_pid >/dev/null && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$VAR/log/api.log" >&2
	die "the pool did not start: see $VAR/log/api.log"
}

pool_stop() {
	local pid i
	pid=$(pool_pid) || return 0
	kill -TERM "$pid"
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# The CORS allow-list (SG_CORS_ORIGINS: origins separated by commas or
# spaces, e.g. "https://app.example.org, http://localhost:5173") as the
# lines of nginx's $sg_cors_origin map.  Each must be an exact origin,
# scheme://host[:port] with nothing after it; "*" and "null" are refused,
# so an answer never goes to every page or to sandboxed and file: pages.
# Empty: no CORS headers at all.
cors_origins() { # cors_origins FILE
	local o list=() out=""
	read -r -a list <<<"$(printf '%s' "${SG_CORS_ORIGINS:-}" | tr ',' ' ')"
	for o in "${list[@]}"; do
		o=${o,,}
		[[ "$o" =~ ^https?://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$ ]] ||
			die "SG_CORS_ORIGINS: \"$o\" is not an origin (scheme://host[:port], no path, no wildcard)"
		out+="\"$o\" \"$o\";"$'\n'
	done
	printf '%s' "$out" >"$1"
	CORS_VARY=""
	[ -n "$out" ] && CORS_VARY=Origin
	return 0
}

# The rate limits (requests a second, and bursts: twice the rate unless
# set): per address in nginx, per verified token in the pool.  Generous for
# the benchmark, which measures the pool.
rates() {
	RATE_ADDR=${SG_RATE_PER_ADDRESS:-100} RATE_TOKEN=${SG_RATE_PER_TOKEN:-50}
	if [ "$INST" = bench ]; then RATE_ADDR=1000000 RATE_TOKEN=1000000; fi
	BURST_ADDR=${SG_RATE_BURST_ADDRESS:-$((RATE_ADDR * 2))} BURST_TOKEN=${SG_RATE_BURST_TOKEN:-$((RATE_TOKEN * 2))}
}

render() { # render SRC DST: fill the placeholders of an nginx file
	local user_directive=""
	[ ${#RUN_AS[@]} -gt 0 ] && user_directive="user $SERVICE_USER;"
	rates
	sed -e "s|@LISTEN@|${LISTEN_ADDR:-127.0.0.1}|g; s|@PORT@|$PORT|g; s|@TLS_PORT@|$TLS_PORT|g;" \
		-e "s|@RATE_ADDR@|$RATE_ADDR|g; s|@BURST_ADDR@|$BURST_ADDR|g;" \
		-e "s|@PORT@|$PORT|g; s|@VAR@|$VAR|g; s|@STATE@|$STATE|g; s|@CONF@|$VAR/conf|g" \
		-e "s|@SOCKET@|$SOCKET|g; s|@TIMEOUT@|${SG_REQUEST_TIMEOUT:-30}|g; s|@USER_DIRECTIVE@|$user_directive|g" \
		-e "s|@CORS_VARY@|${CORS_VARY:-}|g" \
		"$1" >"$2"
}

# allow_map FILE: the map entries of $sg_allow, from the pool's route table:
# "~^<path as a regex>$" "<methods>";  Each path answers what the router
# would: the methods of every route whose pattern matches it, in the
# table's order, with HEAD after GET.  The routes with a literal segment
# where another has a parameter come first (the map takes the first regex
# that matches).
allow_map() {
	"$(bin)" --routes | awk '
		function param(x) { return x ~ /^\{/ }
		# does pattern q match every path pattern p matches?
		function covers(q, p,    qs, ps, k, j) {
			k = split(q, qs, "/")
			if (k != split(p, ps, "/")) return 0
			for (j = 2; j <= k; j++)
				if (!param(qs[j]) && (param(ps[j]) || qs[j] != ps[j])) return 0
			return 1
		}
		{ method[NR] = $1; path[NR] = $2
		  if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
		END {
			for (i = 1; i <= n; i++) {
				p = order[i]; m = ""
				for (r = 1; r <= NR; r++)
					if (covers(path[r], p) && index(", " m ",", ", " method[r] ",") == 0)
						m = (m == "" ? "" : m ", ") method[r] (method[r] == "GET" ? ", HEAD" : "")
				key = ""; k = split(p, seg, "/")
				for (j = 2; j <= k; j++) key = key (param(seg[j]) ? "1" : "0")
				re = p; gsub(/\./, "\\.", re); gsub(/\{[a-z_]+\}/, "[^/]+", re)
				printf "%s\t%05d\t\"~^%s$\" \"%s\";\n", key, i, re, m
			}
		}' | sort -s -k1,1 -k2,2n | cut -f3- >"$1"
	# any other path under /v1 is the pool's 404, whatever the method
	printf '"~^/v1(/|$)" "";\n' >>"$1"
	# nginx's own paths, each file it serves by name (any other path, a
	# missing file under /docs/ too, maps to no methods: 404 for every
	# method, as GET answers it).  Regexes, as nginx's locations match
	# case-sensitively: a map's plain strings would not.
	{
		printf '"~^/openapi\\.yaml$" "GET, HEAD";\n"~^/docs/?$" "GET, HEAD";\n'
		for f in $(docs_files); do
			f=${f##*/}
			printf '"~^/docs/%s$" "GET, HEAD";\n' "${f//./\\.}"
		done
		printf '"~^/problems/[a-z0-9-]+$" "GET, HEAD";\n'
	} >>"$1"
}

# The files nginx serves under /docs/: the docs pages and Redoc's bundle.
docs_files() {
	printf '%s\n' "$ROOT"/nginx/docs/* "$ROOT/tests/node_modules/redoc/bundles/redoc.standalone.js"
}

nginx_start() {
	mkdir -p "$VAR/conf" "$STATE/nginx" "$STATE/www/docs"
	local f
	cors_origins "$VAR/conf/cors-origins"
	allow_map "$VAR/conf/allow-map"
	for f in "$ROOT"/nginx/*.conf; do render "$f" "$VAR/conf/$(basename "$f")"; done
	render "$ROOT/nginx/nginx.conf.in" "$VAR/conf/nginx.conf"
	# what nginx serves itself, where its workers can read it
	cp "$ROOT/openapi/openapi.yaml" "$STATE/www/openapi.yaml"
	# one file a line, no spaces in their names
	cp $(docs_files) "$STATE/www/docs/"
	if [ ${#RUN_AS[@]} -gt 0 ]; then
		chown -R "$SERVICE_USER:" "$STATE/nginx" "$STATE/www"
	fi
	nginx -t -q -p "$STATE/nginx" -e "$VAR/log/nginx-error.log" -c "$VAR/conf/nginx.conf" ||
		die "nginx configuration is invalid"
	if nginx_pid >/dev/null; then
		nginx -p "$STATE/nginx" -e "$VAR/log/nginx-error.log" -c "$VAR/conf/nginx.conf" -s reload
	else
		nginx -p "$STATE/nginx" -e "$VAR/log/nginx-error.log" -c "$VAR/conf/nginx.conf"
	fi
}

nginx_stop() {
	local pid i
	pid=$(nginx_pid) || return 0
	kill -QUIT "$pid"
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null || true
}

wait_ready() {
	local i
	for i in $(seq 1 150); do
		curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	curl -sS "http://127.0.0.1:$PORT/readyz" >&2 || true
	die "the API did not become ready on port $PORT: see $VAR/log/"
}

up() {
	instance "$1"
	printf 'PORT=%s\nTLS_PORT=%s\nPGPORT=%s\n' "$PORT" "$TLS_PORT" "$PGPORT" >"$VAR/instance.env"
	[ -x "$(bin)" ] || die "$(bin) is not built: run make build"
	keys
	tls
	pg_start
	migrate
	[ "$INST" = dev ] && [ "${SG_DEMO_DATA:-1}" = 1 ] && seed
	pool_start
	nginx_start
	wait_ready
	[ "$INST" = dev ] && [ -z "${SERVING:-}" ] && next_steps
	return 0
}

next_steps() {
	cat <<-EOF

		Safeguard is running on http://127.0.0.1:$PORT (instance $INST)
		  docs        http://127.0.0.1:$PORT/docs/
		  contract    http://127.0.0.1:$PORT/openapi.yaml
		  health      curl http://127.0.0.1:$PORT/readyz

		Try it:
		  TOKEN=\$(make -s token AGENCY=police ROLES=practitioner SUB=alice)
		  curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$PORT/v1/me

		make status | make logs | make stop
	EOF
}

down() {
	instance "$1"
	nginx_stop
	pool_stop
	pg_stop
}

# In the foreground (the container's command): up, then stay until a
# signal or the pool's exit, and bring everything down on the way out.  The
# pool's and nginx's logs (files under var/<instance>/log) are followed on
# stderr as well, where a container's logs are read.
serve() {
	SERVING=1
	instance "$1"
	tail -q -n 0 -F "$VAR/log/api.log" "$VAR/log/nginx-error.log" "$VAR/log/nginx-access.log" >&2 2>/dev/null &
	FOLLOW=$!
	trap 'kill "$FOLLOW" 2>/dev/null; down "$INST"; exit 0' TERM INT
	up "$1"
	say "serving on port $PORT (HTTPS $TLS_PORT)"
	while pool_pid >/dev/null && nginx_pid >/dev/null; do sleep 1 & wait $!; done
	say "a process of the stack exited"
	kill "$FOLLOW" 2>/dev/null
	down "$INST"
	exit 1
}

reset() { # stop, and forget the instance's database
	down "$1"
	pg_local && rm -rf "$PGDATA"
	rm -f "$VAR/instance.env"
	return 0
}

status() {
	instance "$1"
	printf 'instance  %s (port %s)\n' "$INST" "$PORT"
	printf 'nginx     %s\n' "$(nginx_pid || echo stopped)"
	printf 'pool      %s\n' "$(pool_pid || echo stopped)"
	if pg_local; then
		printf 'postgres  %s\n' "$(as_service "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 && echo "running on $PGPORT" || echo stopped)"
	else
		printf 'postgres  DATABASE_URL\n'
	fi
	printf 'ready     %s\n' "$(curl -fsS "http://127.0.0.1:$PORT/readyz" 2>/dev/null || echo no)"
}

logs() {
	instance "$1"
	tail -n 50 -F "$VAR/log/api.log" "$VAR/log/nginx-error.log" "$VAR/log/nginx-access.log"
}

token() {
	instance "$1"
	keys
	local tool="$ROOT/var/build/safeguard-token"
	[ -x "$tool" ] || make -s -C "$ROOT" "$tool" >/dev/null
	SG_JWT_ISSUER="$ISSUER" SG_JWT_AUDIENCE="$AUDIENCE" SG_KEYS="$VAR/keys/private" "$tool"
}

cmd=${1:-}
shift || true
case "$cmd" in
deps) deps ;;
up) up "$@" ;;
down) down "$@" ;;
reset) reset "$@" ;;
serve) serve "$@" ;;
status) status "$@" ;;
logs) logs "$@" ;;
token) token "$@" ;;
pg-start) instance "$1" && pg_start ;;
pg-stop) instance "$1" && pg_stop ;;
migrate) instance "$1" && pg_start && migrate ;;
admin-url) instance "$1" && admin_url && echo ;;
state-dir) instance "$1" && echo "$STATE" ;;
*) die "usage: stack.sh deps|up|down|status|logs|token|pg-start|pg-stop|migrate|admin-url INSTANCE" ;;
esac
