# nilus-pg worker image: build dist/ in one stage, run it as a non-root user in a slim one.
#   docker build -t nilus-pg .
#   docker run -v "$PWD/config:/etc/nilus:ro" nilus-pg
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# `npm ci` runs the prepare script (tsc), which needs the sources: skip scripts here, build below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --ignore-scripts
# lz4-napi ships prebuilt binaries chosen by an install script; run it for the production set.
RUN npm rebuild lz4-napi

FROM node:20-slim
ENV NODE_ENV=production \
    NILUS_CONNECTIONS=/etc/nilus/connections.yaml
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/bin ./bin
RUN ln -s /app/bin/nilus-pg.js /usr/local/bin/nilus-pg
# The image's files stay root-owned and read-only to the worker; it runs as the unprivileged
# `node` user that node:20-slim provides.
USER node
# Prometheus metrics and health on the observability port (default 9464).
EXPOSE 9464
ENTRYPOINT ["nilus-pg"]
CMD ["run", "/etc/nilus/manifest.yaml"]
