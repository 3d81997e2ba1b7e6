#!/usr/bin/env bash
# curve.sh - `make bench-curve`: the pool's size against throughput, and
# PostgreSQL's group commit settings, measured with bench.mjs on a subset of
# targets (an audited read and a write) at 64 connections.  Each run brings
# the bench instance up with SG_WORKERS workers (the hello baseline gets as
# many), so every ratio is against a baseline of the same size.  Prints one
# table and writes it to var/bench/curve.json.
#
# Environment: CURVE_WORKERS (default "2,4,8,16": the pool sizes),
# CURVE_PG (default ";commit_delay=100,commit_siblings=4;commit_delay=500,commit_siblings=4":
# PostgreSQL settings, ";"-separated runs, each at the default pool size),
# BENCH_SECONDS (default 4).
set -euo pipefail
cd "$(dirname "$0")/../.."

targets='GET /v1/children/{id},POST /v1/children'
workers=${CURVE_WORKERS:-2,4,8,16}
pgruns=${CURVE_PG:-";commit_delay=100,commit_siblings=4;commit_delay=500,commit_siblings=4"}
export BENCH_SECONDS=${BENCH_SECONDS:-4} BENCH_CONNECTIONS=64 BENCH_TARGETS="$targets"
out=var/bench/curve.json
mkdir -p var/bench
echo '[' >"$out"
first=1

run() { # run WORKERS PG_SETTINGS
	SG_WORKERS=$1 BENCH_PG=$2 node tests/bench/bench.mjs >/dev/null
	[ $first = 1 ] || echo ',' >>"$out"
	first=0
	cat var/bench/partial.json >>"$out"
}

IFS=, read -ra sizes <<<"$workers"
for w in "${sizes[@]}"; do
	echo "  $w workers" >&2
	run "$w" ""
done
IFS=';' read -ra settings <<<"$pgruns"
default=$(node -e 'console.log(Math.max(4, 2 * require("os").cpus().length))')
for s in "${settings[@]}"; do
	[ -n "$s" ] || continue
	echo "  $default workers, $s" >&2
	run "$default" "$s"
done
echo ']' >>"$out"

node -e '
const runs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log("| workers | PostgreSQL settings | target | req/s | p50 ms | p99 ms | × hello |");
console.log("|---|---|---|---|---|---|---|");
for (const r of runs) {
  const pg = Object.entries(r.postgres_settings).map(([k, v]) => `${k}=${v}`).join(" ") || "defaults";
  for (const x of r.results.filter((x) => x.target !== "nginx return 200")) {
    console.log(`| ${r.workers} | ${pg} | ${x.target} | ${x.rps.toFixed(0)} | ${x.p50_ms} | ${x.p99_ms} | ${x.ratio_to_hello.toFixed(2)} |`);
  }
}' "$out"
