# Safeguard: nginx + the pool in one image, configured by environment
# variables and started by the same script as `make run` (nginx/stack.sh), so
# the two cannot drift.  Point DATABASE_URL at the PostgreSQL server (a role
# that may create roles and schemas: the script migrates it on start) and
# mount the identity provider's public keys at /keys (<kid>.pem).  Every
# setting a deployment gives: README "Running the image"; a compose file:
# deploy/compose.yaml.
#
# It runs as the unprivileged user safeguard (uid 10001): a directory
# mounted for it to write (secrets, and tls when it is to make a certificate)
# must be that uid's.
#
#   make image              (docker or podman, whichever is there)
#   docker run -p 8080:8080 -e DATABASE_URL=postgresql://... \
#     -e SG_JWT_ISSUER=https://idp.example -e SG_JWT_AUDIENCE=safeguard-api \
#     -v /path/to/keys:/keys:ro -v /path/to/secrets:/app/var/dev/secrets safeguard
#
# BASE: any Debian 12 image with apt.  make image passes the official one, or
# when no registry is reachable one it makes from Debian's mirror
# (deploy/image.sh).
ARG BASE=debian:12-slim

FROM ${BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config libfcgi-dev libjansson-dev libpq-dev libjwt-dev libssl-dev libcairo2-dev libpango1.0-dev \
      ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# the Makefile builds every .c under api/ (core/, input/, areas/<area>/);
# the schema version it compiles in comes from db/migrations
COPY Makefile ./
COPY api api
COPY db db
RUN make build

FROM ${BASE}
# postgresql is there for trying the image without DATABASE_URL (a cluster
# inside, made by stack.sh); the package's own default cluster is not wanted
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/safeguard.conf \
 && apt-get update && apt-get install -y --no-install-recommends \
      libfcgi0ldbl libjansson4 libpq5 libjwt0 libssl3 libcairo2 libpangocairo-1.0-0 fonts-dejavu-core nginx-light postgresql-client postgresql \
      openssl curl procps ca-certificates tzdata && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 safeguard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin safeguard
WORKDIR /app
COPY --from=build /src/var/build/safeguard-api /src/var/build/safeguard-token var/build/
# /docs renders with redoc's standalone bundle, the one tests/package-lock.json
# pins, taken from the checkout's npm modules (make deps): the build then
# reaches nothing but Debian's mirror
COPY tests/node_modules/redoc/bundles/redoc.standalone.js tests/node_modules/redoc/bundles/
COPY db db
COPY nginx nginx
COPY openapi openapi
# the instance's state (keys, certificate, secrets, logs, the pool's socket)
# is the service user's; the code stays root's, read-only to it
RUN mkdir -p var/dev/secrets var/dev/tls && chown safeguard: var && chown -R safeguard: var/dev
USER safeguard
ENV PORT=8080 LISTEN_ADDR=0.0.0.0 SG_JWT_KEY_DIR=/keys SG_WORKERS=8 SG_DEMO_DATA=0
EXPOSE 8080 8443
# on the port and address the deployment gave (0.0.0.0: any, so loopback)
HEALTHCHECK --interval=10s --timeout=3s \
  CMD a=${LISTEN_ADDR:-0.0.0.0}; [ "$a" != 0.0.0.0 ] || a=127.0.0.1; curl -fsS "http://$a:${PORT:-8080}/readyz" >/dev/null || exit 1
STOPSIGNAL SIGTERM
CMD ["bash", "nginx/stack.sh", "serve", "dev"]
