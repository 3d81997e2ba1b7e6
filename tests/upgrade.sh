#!/usr/bin/env bash
# upgrade.sh - a step of `make test` (tests/run.sh): today's migrations
# upgrade a database that an earlier release left to exactly the schema a
# fresh database gets, and refuse a migration changed after it was applied
# (issue 9).  On the test instance's PostgreSQL:
#
#   safeguard  (the instance's own database) as release 1 left it: the
#              migration files and demo data of $RELEASE, applied by that
#              release's own migrate() and seed() (no checksums)
#   sg_origin  the same, from the first committed 001, 002 and 003 ($ORIGIN),
#              plus rows in the tables that 004 changes
#   sg_fresh   empty
#
# Today's `stack.sh migrate` then runs over each.  It must succeed, the three
# schemas (pg_dump --schema-only) must be equal, every row must survive, and
# every database must record the same checksums.  Then on sg_origin: a
# tampered checksum and an unknown version are refused.  `safeguard` is left
# upgraded: run.sh starts the pool on it and runs the API suites there.
#
# Needs the git history (CI runs in a full clone of main).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RELEASE=${SG_RELEASE_COMMIT:-8a3aef8} # the last landed release
ORIGIN=1412146                        # where 001, 002 and 003 first exist together, as first committed
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
VAR="$ROOT/var/test"
WORK="$VAR/upgrade"

export PGOPTIONS="-c client_min_messages=warning"

fail() { printf 'upgrade: FAILED: %s\n' "$*" >&2; exit 1; }
note() { printf 'upgrade: %s\n' "$*"; }

for c in "$RELEASE" "$ORIGIN"; do
	git rev-parse -q --verify "$c^{commit}" >/dev/null 2>&1 ||
		fail "commit $c is not in this checkout: the upgrade test reads the migrations of earlier releases from the git history (run it in a full clone of main)"
done

bash nginx/stack.sh pg-start test
admin=$(bash nginx/stack.sh admin-url test)
url_of() { printf '%s/%s' "${admin%/*}" "$1"; }
sql() { psql "$(url_of "$1")" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }
migrate_now() { DATABASE_URL=$(url_of "$1") bash nginx/stack.sh migrate test; }
for db in safeguard sg_origin sg_fresh; do
	sql postgres "drop database if exists $db with (force)"
	sql postgres "create database $db"
done

# Release 1's migrate() and seed(), as they were, over the files of COMMIT.
old_apply() { # old_apply COMMIT DATABASE
	local commit=$1 db=$2 tree="$WORK/$1" procs
	rm -rf "$tree" && mkdir -p "$tree"
	git archive "$commit" db/migrations db/demo | tar -x -C "$tree"
	procs=$(git show "$RELEASE:nginx/stack.sh" | sed -n '/^migrate() {$/,/^}$/p; /^seed() {$/,/^}$/p')
	[ "$(grep -c '^}$' <<<"$procs")" = 2 ] || fail "migrate() and seed() not found in $RELEASE:nginx/stack.sh"
	# in a subshell of its own (not on the left of ||, so errexit holds in it)
	(
		# what those two functions use of their script
		ROOT=$tree
		admin_url() { url_of "$db"; }
		secret() {
			[ -s "$VAR/secrets/$1" ] || (umask 077 && mkdir -p "$VAR/secrets" && openssl rand -hex 24 >"$VAR/secrets/$1")
			cat "$VAR/secrets/$1"
		}
		say() { :; }
		eval "$procs"
		migrate
		seed
	) &
	wait $! || fail "$commit's migrations and demo data did not apply with $RELEASE's migrate() and seed()"
}

note "building release 1 ($RELEASE) in safeguard, the first committed migrations ($ORIGIN) in sg_origin"
old_apply "$RELEASE" safeguard
old_apply "$ORIGIN" sg_origin
# rows in what 004 rebuilds or extends: an idempotency key (its table is
# rebuilt to put the new column in place), a chronology entry (no doc yet;
# entry_json changes its type)
psql "$(url_of sg_origin)" -Xq -v ON_ERROR_STOP=1 >/dev/null <<-'EOF'
	insert into safeguard.idempotency_keys (sub, key, request_hash, status, content_type, body)
	values ('upgrade-test', 'key-1', 'hash', 201, 'application/json', '{"kept":true}');
	begin;
	insert into safeguard.chronology_entries (id, agency, author_sub, event_date, date_precision, category,
		summary, impact, significance, no_action_reason, updated_by)
	values ('00000000-0000-4000-8000-0000000e0001', 'csc', 'upgrade-test', '2024-01-02', 'day', 'home_visit',
		'Home visit before the upgrade', 'neutral', 'low', 'none needed', 'upgrade-test');
	insert into safeguard.chronology_entry_children (entry_id, child_id)
	values ('00000000-0000-4000-8000-0000000e0001', '00000000-0000-4000-8000-00000000c001');
	commit;
EOF
# the bug of issue 9: the API role could not clear expired idempotency keys
clear_keys() { # as the API role, what every new Idempotency-Key does first
	psql "$(url_of "$1")" -XAtq -v ON_ERROR_STOP=1 2>&1 <<-'EOF'
		begin;
		set local role safeguard_api;
		select set_config('app.sub', 'upgrade-test', true) \g /dev/null
		delete from safeguard.idempotency_keys where sub = current_setting('app.sub')
		  and created_at < now() - interval '1 day';
		rollback;
	EOF
}
grep -q 'permission denied for table idempotency_keys' <<<"$(clear_keys sg_origin)" ||
	fail "the first committed migrations should reproduce issue 9's 'permission denied for table idempotency_keys'"
before=$(sql sg_origin "select (select count(*) from safeguard.children) || '/' || (select count(*) from safeguard.child_network)")

note "today's migrations over each (stack.sh migrate)"
migrate_now sg_fresh || fail "stack.sh migrate failed on an empty database"
bash nginx/stack.sh migrate test || fail "stack.sh migrate failed to upgrade release 1's database"
migrate_now sg_origin || fail "stack.sh migrate failed to upgrade the first committed migrations"
migrate_now safeguard || fail "stack.sh migrate is not idempotent (a second run failed)"

schema() { # the schema as pg_dump prints it, less the per-run \restrict keys
	"$PGBIN/pg_dump" --schema-only "$(url_of "$1")" | grep -v '^\\\(un\)\?restrict '
}
schema sg_fresh >"$WORK/fresh.sql"
[ -s "$WORK/fresh.sql" ] && grep -q 'CREATE TABLE safeguard.chronology_entries' "$WORK/fresh.sql" ||
	fail "pg_dump of the fresh database is empty"
for db in safeguard sg_origin; do
	schema "$db" >"$WORK/$db.sql"
	if ! diff -u "$WORK/fresh.sql" "$WORK/$db.sql" >"$WORK/$db.diff"; then
		head -60 "$WORK/$db.diff"
		fail "$db's schema after the upgrade differs from a fresh database's (above; $WORK/$db.diff)"
	fi
	[ "$(sql "$db" "select version, name, checksum from safeguard.schema_migrations order by version")" = \
		"$(sql sg_fresh "select version, name, checksum from safeguard.schema_migrations order by version")" ] ||
		fail "$db records other migrations or checksums than a fresh database"
done
note "the upgraded schemas equal a fresh one ($(grep -c '^CREATE' "$WORK/fresh.sql") objects created)"

[ "$(sql sg_origin "select (select count(*) from safeguard.children) || '/' || (select count(*) from safeguard.child_network)")" = "$before" ] ||
	fail "rows were lost in the upgrade"
[ "$(sql sg_origin "select body || headers from safeguard.idempotency_keys where key = 'key-1'")" = '{"kept":true}' ] ||
	fail "the idempotency key did not survive the upgrade"
[ "$(sql sg_origin "select safeguard.entry_json(e)->>'child_ids' from safeguard.chronology_entries e")" = \
	'["00000000-0000-4000-8000-00000000c001"]' ] || fail "an entry from before the upgrade does not render"
out=$(clear_keys sg_origin) || fail "the API role still cannot clear idempotency keys after the upgrade: $out"
[ "$(sql safeguard "select count(*) from safeguard.children")" = 6 ] || fail "release 1's demo data is not there"

note "a migration changed after it was applied is refused"
sql sg_origin "update safeguard.schema_migrations set checksum = repeat('0', 64) where version = 3"
if out=$(migrate_now sg_origin 2>&1); then
	fail "stack.sh migrate accepted a changed migration"
fi
grep -q 'migration 003_chronology.sql was changed after it was applied' <<<"$out" ||
	fail "stack.sh migrate refused a changed migration without naming it: $out"
# a row from before checksums were kept takes the file's checksum, once
sql sg_origin "update safeguard.schema_migrations set checksum = null where version = 3"
migrate_now sg_origin 2>/dev/null || fail "a missing checksum was not recorded"
[ "$(sql sg_origin "select checksum from safeguard.schema_migrations where version = 3")" = \
	"$(sha256sum db/migrations/003_chronology.sql | cut -c1-64)" ] || fail "the recorded checksum is not the file's"
sql sg_origin "insert into safeguard.schema_migrations (version, name, checksum) values (999, '999_future', 'x')"
if out=$(migrate_now sg_origin 2>&1); then
	fail "stack.sh migrate accepted a database with a migration it does not have"
fi
grep -q 'has migration 999 (999_future.sql) that db/migrations does not have' <<<"$out" ||
	fail "stack.sh migrate refused an unknown migration without naming it: $out"

sql postgres "drop database sg_origin with (force)"
sql postgres "drop database sg_fresh with (force)"
rm -rf "$WORK/$RELEASE" "$WORK/$ORIGIN"
note "ok: release 1 and the first committed migrations upgrade to today's schema; changed migrations are refused"
