#!/usr/bin/env bash
# migrations-guard.sh - fails when a migration that exists on the base commit
# was modified or removed since (in later commits or in the working tree).
# Migrations are forward-only: an applied file is never edited, a change is
# a new numbered file (issue 9).  .ci/run calls it before `make test`.
#
#   SG_MIGRATIONS_BASE  the commit to compare with: a pull request's merge
#                       base; by default HEAD~1, the previous commit of main
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
die() { printf 'migrations-guard: %s\n' "$*" >&2; exit 1; }

git rev-parse --git-dir >/dev/null 2>&1 ||
	die "not a git checkout: the guard needs the history of db/migrations/ (CI runs in a full clone)"
base=${SG_MIGRATIONS_BASE:-HEAD~1}
if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
	if [ -z "${SG_MIGRATIONS_BASE:-}" ] && [ "$(git rev-parse --is-shallow-repository)" = false ] &&
		[ "$(git rev-list --count HEAD)" = 1 ]; then
		echo "migrations-guard: the first commit; nothing to compare with"
		exit 0
	fi
	die "cannot find $base (a shallow clone?): fetch the history, or set SG_MIGRATIONS_BASE to the merge base"
fi

bad=0
while IFS=$'\t' read -r status file; do
	[ -n "$status" ] || continue
	case "$status" in
	D) printf 'migrations-guard: %s exists on %s and was removed\n' "$file" "$base" >&2 ;;
	*) printf 'migrations-guard: %s exists on %s and was modified\n' "$file" "$base" >&2 ;;
	esac
	bad=1
done < <(git diff --no-renames --name-status --diff-filter=MDT "$base" -- 'db/migrations/*.sql')
if [ "$bad" = 1 ]; then
	die "migrations are forward-only: restore the file (git checkout $base -- <file>) and put the change in a new numbered migration"
fi
echo "migrations-guard: no migration of $(git rev-parse --short "$base") was modified or removed"
