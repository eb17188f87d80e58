# The controller's image: the compiled controller bundled with its dependencies
# into one file (scripts/bundle.ts), on distroless Node.js 24, running as a
# non-root numeric UID. There is no node_modules: the bundle holds all the code
# the controller reaches. Nothing is written to the filesystem at run time, so
# the root filesystem can be read-only.
#
# The build stage uses the same Node as CI (env/versions.env, NODE_VERSION).
# test/integration/dockerfile.test.ts replays these steps without Docker, and
# test/integration/workflows.test.ts runs hadolint on this file. No `# syntax=`
# line: BuildKit's built-in frontend reads everything here, so the build pulls
# no frontend image that is not pinned below.

# --- build: full dependencies, TypeScript compiled to dist/, then bundled ---
# It runs on the builder's own platform: its output is JavaScript, the same for
# every platform the image is built for, so a multi-arch build compiles once
# and emulates nothing.
FROM --platform=$BUILDPLATFORM node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
# The commit `log-destination-policy-controller version` prints, recorded by
# `npm run build` (scripts/build-info.ts); the release workflow passes it.
# Without it the image says "unknown".
COPY scripts/build-info.ts ./scripts/
ARG REVISION
RUN npm run build
# After the compile, so that a change to the bundler alone reuses its layer.
COPY scripts/bundle.ts ./scripts/
RUN npm run bundle

# --- runtime: no shell, no package manager ---
FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a
# OCI labels; the release workflow passes the tag's version and the commit.
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="log-destination-policy-controller" \
      org.opencontainers.image.description="Kubernetes controller that manages CloudWatch Logs destination access policies" \
      org.opencontainers.image.source="https://github.com/gitops-dev/log-destination-policy-controller" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
WORKDIR /app
# Two malloc arenas instead of one per thread: memory freed by one of V8's or
# libuv's threads is reused by the others. A fixed mmap threshold: V8 parses and
# compiles the bundle in zone blocks just over 32 KiB, which glibc would otherwise
# keep in its heap once freed (about 20 MiB at start-up). Both keep the peak
# resident memory at 10,000 objects under 200 MiB (README, Performance).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768
# dist/main.js, dist/THIRD-PARTY-NOTICES.txt, dist/build-info.json and package.json, from which the
# controller reads its version ("type": "module" makes main.js an ES module).
COPY --from=build /app/out/image/ ./
USER 65532:65532
EXPOSE 8080 8081
# Node runs as PID 1 and handles SIGTERM itself: it stops watching, lets
# in-flight reconciles finish within --shutdown-grace-period and exits 0.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
