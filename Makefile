# Safeguard: build, run and test.  `make run` and `make test` are the two
# commands a newcomer needs; see README.md for the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := build
# nginx (and runuser, useradd) live in /usr/sbin, which is not on an ordinary
# Debian user's PATH: `make run` as a user with sudo found no nginx.
export PATH := $(PATH):/usr/sbin:/sbin

CC ?= cc
SANITIZE ?=
PORT ?= 8080
INSTANCE ?= dev
BUILD := var/build$(if $(SANITIZE),-san)
BIN := $(BUILD)/safeguard-api

# core/ and input/ never name an area; areas/ hold one folder per area of the
# domain, and areas.c is the one list of them (see api/README.md).
SRCS := $(filter-out api/core/main.c,$(wildcard api/*.c api/core/*.c api/input/*.c api/areas/*/*.c))
OBJS := $(patsubst api/%.c,$(BUILD)/%.o,$(SRCS))
HDRS := $(wildcard api/*.h api/core/*.h api/input/*.h api/areas/*/*.h)
INCLUDES := -Iapi/core -Iapi/input -Iapi

# cairo: the training certificates' PDF surface (Debian's libcairo2); Pango
# lays out their text (bidi and shaping for right-to-left scripts) and brings
# glib, HarfBuzz and FriBidi with it (Debian's libpango1.0-dev)
PANGO_CFLAGS := $(shell pkg-config --cflags pangocairo fontconfig)
PANGO_LIBS := $(shell pkg-config --libs pangocairo fontconfig)

CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	-I/usr/include/postgresql $(INCLUDES) $(PANGO_CFLAGS)
LDFLAGS := -pie -Wl,-z,relro,-z,now
LDLIBS := -lfcgi -ljansson -lpq -ljwt -lcrypto -lcairo $(PANGO_LIBS)
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif

.PHONY: build deps run stop status logs test unit token clean format lint bench bench-curve seed-large fuzz fuzz-build valgrind image image-test

build: $(BIN) var/build/safeguard-token

$(BUILD)/%.o: api/%.c $(HDRS) db/migrations
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BIN): $(OBJS) $(BUILD)/core/main.o
	@echo "  LINK  $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Installs the Debian packages and npm modules the project needs (idempotent).
deps:
	@bash nginx/stack.sh deps

run: deps build
	@INSTANCE=dev PORT=$(PORT) SANITIZE=$(SANITIZE) bash nginx/stack.sh up dev

stop:
	@bash nginx/stack.sh down $(INSTANCE)

status:
	@bash nginx/stack.sh status $(INSTANCE)

logs:
	@bash nginx/stack.sh logs $(INSTANCE)

# Mints a token signed with the instance's development key, e.g.
#   make -s token AGENCY=police ROLES=practitioner SUB=alice
token:
	@bash nginx/stack.sh token $(INSTANCE)

test: deps build
	@SANITIZE=$(SANITIZE) bash tests/run.sh

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

$(BUILD)/unit-tests: $(OBJS) $(wildcard tests/unit/*.c tests/unit/*.h)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ tests/unit/*.c $(OBJS) $(LDLIBS) $$(pkg-config --libs check)

# The house style is .clang-format; `make lint` fails on any difference and
# on cppcheck's warnings (CI runs it).
FORMATTED = $(shell find api tests/unit tests/fuzz tests/bench -name '*.[ch]' | sort)

format:
	clang-format -i $(FORMATTED)

lint:
	clang-format --dry-run --Werror $(FORMATTED)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
		$(INCLUDES) -I /usr/include/postgresql --suppress=missingIncludeSystem api/

clean:
	rm -rf var/build var/build-san

var/build/safeguard-token: api/tools/token.c
	@mkdir -p var/build
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -ljwt -lcrypto

# Speed against baselines measured in the same run (see README); BENCH_SECONDS,
# BENCH_CONNECTIONS and SCALE=large adjust it.
bench: deps build
	@node tests/bench/bench.mjs

# The pool's size and PostgreSQL's group commit against throughput (an
# audited read and a write at 64 connections); CURVE_WORKERS, CURVE_PG.
bench-curve: deps build
	@bash tests/bench/curve.sh

# libFuzzer targets (clang): body parsing + validation, JWT pre-checks and
# claims, query strings + cursors, route matching, and every route's own body
# spec and checks on arbitrary JSON (specs).  `make fuzz` runs each for
# FUZZ_SECONDS; `make test` runs each briefly.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := body jwt query route specs
FUZZ_BUILD := var/build-fuzz
FUZZ_CFLAGS := $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) -O1 -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -Wno-unused-command-line-argument
FUZZ_OBJS := $(patsubst api/%.c,$(FUZZ_BUILD)/%.o,$(SRCS))

$(FUZZ_BUILD)/%.o: api/%.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC    $< (fuzz)"
	@clang $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/common.h $(FUZZ_OBJS)
	@echo "  LINK  $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@set -o pipefail; for t in $(FUZZ_TARGETS); do \
		mkdir -p var/fuzz/$$t; \
		echo "== fuzz $$t ($(FUZZ_SECONDS)s)"; \
		$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 \
			-print_final_stats=1 var/fuzz/$$t tests/fuzz/corpus/$$t 2>&1 | tail -4 || exit 1; \
	done

.SECONDARY:

# The unit tests and the pool under valgrind's memcheck (see tests/valgrind.sh).
valgrind: deps build $(BUILD)/unit-tests
	@bash tests/valgrind.sh

# A partnership-sized data set on the bench instance, generated in the
# database: LARGE_CHILDREN children in families, LARGE_ENTRIES entries.
LARGE_CHILDREN ?= 1000000
LARGE_ENTRIES ?= 10000000
seed-large: deps build
	@bash nginx/stack.sh up bench >/dev/null
	@psql "$$(bash nginx/stack.sh admin-url bench)" -Xq -v children=$(LARGE_CHILDREN) -v entries=$(LARGE_ENTRIES) \
		-f tests/bench/seed-large.sql

# The migrations this build is made with (version, file name, sha256), which
# core/schema.c compares with the database's schema_migrations; regenerated
# when a file in db/migrations/ is added, removed or changed.
$(BUILD)/migrations.h: db/migrations-header.sh db/migrations $(wildcard db/migrations/*.sql)
	@mkdir -p $(dir $@)
	@bash db/migrations-header.sh db/migrations >$@.tmp && mv $@.tmp $@
$(BUILD)/core/schema.o: $(BUILD)/migrations.h
$(BUILD)/core/schema.o: CFLAGS += -I$(BUILD)
$(FUZZ_BUILD)/core/schema.o: $(BUILD)/migrations.h
$(FUZZ_BUILD)/core/schema.o: FUZZ_CFLAGS += -I$(BUILD)

# The container image (Dockerfile) with docker, or podman when docker is not
# installed or its daemon cannot be reached; FROM debian:12-slim, or when no
# registry is reachable FROM a Debian 12 base made from Debian's mirror
# (deploy/image.sh).  IMAGE names the tag.  image-test runs it against a
# PostgreSQL with a generated key mounted and calls it; it needs a container
# engine, so it is not part of make test.  See README "Running the image".
IMAGE ?= safeguard:latest
image:
	@IMAGE=$(IMAGE) bash deploy/image.sh build

image-test: image
	@IMAGE=$(IMAGE) bash tests/tools/image-smoke.sh
