# Safeguard: nginx + the pool in one image, configured by environment
# variables and started by the same script as `make run` (nginx/stack.sh), so
# the two cannot drift.  Point DATABASE_URL at the PostgreSQL server (a role
# that may create roles and schemas: the script migrates it on start) and
# mount the identity provider's public keys at /keys (<kid>.pem).  Every
# setting a deployment gives: README "Running the image"; a compose file:
# deploy/compose.yaml.
#
#   make image              (docker or podman, whichever is there)
#   docker run -p 8080:8080 -e DATABASE_URL=postgresql://... \
#     -e SG_JWT_ISSUER=https://idp.example -e SG_JWT_AUDIENCE=safeguard-api \
#     -v /path/to/keys:/keys:ro -v /path/to/secrets:/app/var/dev/secrets safeguard

FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config libfcgi-dev libjansson-dev libpq-dev libjwt-dev libssl-dev libcairo2-dev \
      nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY tests/package.json tests/package-lock.json tests/
RUN cd tests && npm ci --no-audit --no-fund --omit=optional
# the Makefile builds every .c under api/ (core/, input/, areas/<area>/);
# the schema version it compiles in comes from db/migrations
COPY Makefile ./
COPY api api
COPY db db
RUN make build

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      libfcgi0ldbl libjansson4 libpq5 libjwt0 libssl3 libcairo2 fonts-dejavu-core nginx-light postgresql-client postgresql \
      openssl curl procps ca-certificates tzdata && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin safeguard
WORKDIR /app
COPY --from=build /src/var/build/safeguard-api /src/var/build/safeguard-token var/build/
COPY --from=build /src/tests/node_modules/redoc/bundles/redoc.standalone.js tests/node_modules/redoc/bundles/
COPY db db
COPY nginx nginx
COPY openapi openapi
ENV PORT=8080 LISTEN_ADDR=0.0.0.0 SG_JWT_KEY_DIR=/keys SG_WORKERS=8 SG_DEMO_DATA=0
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
STOPSIGNAL SIGTERM
CMD ["bash", "nginx/stack.sh", "serve", "dev"]
