#!/usr/bin/env bash
# image.sh - builds the container image (`make image`) with docker, or with
# podman when docker is not installed or its daemon cannot be reached, and
# gives tests/tools/image-smoke.sh the same engine and flags.
#
#   deploy/image.sh build        build $IMAGE (default safeguard:latest)
#   deploy/image.sh engine       print the engine (and its global flags)
#
# The image is built FROM $BASE (default debian:12-slim, the official image).
# When that is neither present locally nor can be pulled (no container
# registry reachable), a Debian 12 base is made here instead, from Debian's
# own mirror: debootstrap bookworm (minbase) imported as $LOCAL_BASE
# (safeguard-base:bookworm), made once and reused; remove that image to
# remake it.  Both are Debian 12 with apt, which is all the Dockerfile asks
# of its base.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${IMAGE:-safeguard:latest}
BASE=${BASE:-debian:12-slim}
LOCAL_BASE=${LOCAL_BASE:-safeguard-base:bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

say() { printf 'image: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ENGINE (docker or podman), ENGINE_FLAGS (before the subcommand) and
# RUN_FLAGS (for build and run).  podman needs two things on some hosts:
# - rlimits it may set: podman as root asks for more open files and
#   processes (1048576 and more) than a host without CAP_SYS_RESOURCE lets it
#   set, and the container then fails to start ("setrlimit RLIMIT_NOFILE:
#   Operation not permitted").  The caller's hard limit of open files, and
#   4096 processes (nginx and a pool of workers are a few dozen), are set
#   instead;
# - runc instead of crun on a host with hybrid cgroups (v1 controllers with a
#   v2 hierarchy beside them), where crun refuses to start anything ("cgroups
#   in hybrid mode not supported").
engine() {
	ENGINE_FLAGS=() RUN_FLAGS=()
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		ENGINE=docker
		return 0
	fi
	if ! command -v podman >/dev/null; then
		if command -v docker >/dev/null; then
			die "docker is installed but its daemon is not reachable (is it running? may you use it?), and podman is not installed: apt-get install podman"
		fi
		die "neither docker nor podman is installed: apt-get install podman (and runc, on a host with hybrid cgroups)"
	fi
	ENGINE=podman
	local n
	n=$(ulimit -Hn)
	[ "$n" = unlimited ] && n=1048576
	RUN_FLAGS=(--ulimit "nofile=$n:$n" --ulimit nproc=4096:4096)
	if [ -d /sys/fs/cgroup/unified ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
		command -v runc >/dev/null ||
			die "this host has hybrid cgroups, where podman's default runtime (crun) cannot start containers: apt-get install runc"
		ENGINE_FLAGS=(--runtime runc)
	fi
}

has_image() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

# A Debian 12 base from Debian's mirror, for when no registry is reachable.
local_base() {
	has_image "$LOCAL_BASE" && return 0
	command -v debootstrap >/dev/null ||
		die "$BASE cannot be pulled, and debootstrap (to make a Debian 12 base from Debian's mirror instead) is not installed: apt-get install debootstrap"
	local dir
	dir=$(mktemp -d "${TMPDIR:-/var/tmp}/safeguard-base.XXXXXX")
	# shellcheck disable=SC2064
	trap "as_root rm -rf '$dir'" EXIT
	say "making $LOCAL_BASE: Debian 12 (bookworm, minbase) from $DEBIAN_MIRROR"
	as_root debootstrap --variant=minbase bookworm "$dir/root" "$DEBIAN_MIRROR" >"$dir/debootstrap.log" 2>&1 || {
		tail -20 "$dir/debootstrap.log" >&2
		die "debootstrap failed"
	}
	# the same suites as the official image: updates and security too
	as_root tee "$dir/root/etc/apt/sources.list" >/dev/null <<-EOF
		deb $DEBIAN_MIRROR bookworm main
		deb $DEBIAN_MIRROR bookworm-updates main
		deb $DEBIAN_SECURITY bookworm-security main
	EOF
	as_root rm -rf "$dir/root/var/lib/apt/lists/"* "$dir/root/var/cache/apt/"*.bin "$dir/root/var/cache/apt/archives/"*.deb
	as_root tar -C "$dir/root" --numeric-owner -c . |
		"$ENGINE" "${ENGINE_FLAGS[@]}" import --change 'CMD ["bash"]' - "$LOCAL_BASE" >/dev/null
	as_root rm -rf "$dir"
	trap - EXIT
}

build() {
	engine
	# /docs serves redoc's bundle from the npm modules the lock file pins
	if [ ! -s "$ROOT/tests/node_modules/redoc/bundles/redoc.standalone.js" ]; then
		say "installing npm modules (tests/package-lock.json): the image takes redoc's bundle from them"
		(cd "$ROOT/tests" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	fi
	local base=$BASE
	if ! has_image "$base"; then
		say "pulling $base"
		if ! "$ENGINE" "${ENGINE_FLAGS[@]}" pull -q "$base" >/dev/null; then
			say "$base cannot be pulled (no registry reachable?): using a base made from Debian's mirror"
			local_base
			base=$LOCAL_BASE
		fi
	fi
	local format=()
	# podman's default (OCI) format drops HEALTHCHECK
	[ "$ENGINE" = podman ] && format=(--format docker)
	say "building $IMAGE FROM $base ($ENGINE)"
	"$ENGINE" "${ENGINE_FLAGS[@]}" build "${format[@]}" "${RUN_FLAGS[@]}" --build-arg "BASE=$base" -t "$IMAGE" "$ROOT"
}

# sourced (tests/tools/image-smoke.sh): the functions only
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case "${1:-}" in
build) build ;;
engine)
	engine
	printf '%s %s\n' "$ENGINE" "${ENGINE_FLAGS[*]}"
	;;
*) die "usage: image.sh build|engine" ;;
esac
