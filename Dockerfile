# nilus-pg worker image: dist/ is built in one stage, the runtime stage holds only the production
# dependencies, dist/, bin/ and schema/, and runs as the unprivileged `node` user.
#   docker build -t nilus-pg .
#   docker run --rm -v "$PWD/config:/etc/nilus:ro" -p 9464:9464 nilus-pg
#
# BASE_IMAGE is any Node.js 20 image with npm and a `node` user (uid 1000): node:20-slim from a
# registry by default; scripts/container-test.sh passes a locally made one (no registry there).
# Built and run for real by scripts/container-test.sh (podman; README "Docker").
ARG BASE_IMAGE=node:20-slim

FROM ${BASE_IMAGE} AS build
# Lets scripts/container-test.sh prune the build stages it replaced (and nothing else).
LABEL nilus-pg.stage=build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# `npm ci` would run the prepare script (tsc), which needs the sources: skip scripts, build below.
# No dependency has an install script (lz4-napi's binary comes as a prebuilt optional package).
# An optional build secret `npm_ca` (a PEM file) is trusted for the registry, for a network whose
# proxy re-signs TLS: docker build --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    NILUS_CONNECTIONS=/etc/nilus/connections.yaml
WORKDIR /app
# The image's files stay root-owned and read-only to the worker.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schema ./schema
COPY docker/healthcheck.js ./docker/healthcheck.js
USER node
# Prometheus metrics, /healthz and /readyz on the observability port (default 9464; a manifest's
# sink option http_port moves it: set NILUS_HEALTH_PORT to match so the health check follows).
EXPOSE 9464
# node itself probes /healthz (no curl in slim images).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "/app/docker/healthcheck.js"]
# node is PID 1, exec'd directly (no shell, no npm): SIGTERM reaches the worker's own handler, which
# stops fetching, flushes what it holds, commits and exits 0. A second signal exits at once.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/nilus-pg.js"]
CMD ["run", "/etc/nilus/manifest.yaml"]
