# syntax=docker/dockerfile:1
# The controller's image: compiled JavaScript and production dependencies on
# distroless Node.js 24, running as a non-root numeric UID. Nothing is written to
# the filesystem at run time, so the root filesystem can be read-only.
#
# Build stages use the same Node as CI (test/env/versions.env, NODE_VERSION).
# test/integration/dockerfile.test.ts replays these steps without Docker.

# --- build: full dependencies, TypeScript compiled to dist/ ---
FROM node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
RUN npm run build

# --- deps: production dependencies only ---
FROM node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: no shell, no package manager ---
FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules/
COPY --from=build /app/dist ./dist/
COPY package.json ./
USER 65532:65532
EXPOSE 8080 8081
# Node runs as PID 1 and handles SIGTERM itself: it stops watching, lets
# in-flight reconciles finish within --shutdown-grace-period and exits 0.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
