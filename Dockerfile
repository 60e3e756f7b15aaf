# syntax=docker/dockerfile:1
# The netfence image: TypeScript is compiled with the dev dependencies in one stage, production
# dependencies are installed in another, and the runtime holds only dist/, node_modules and
# package.json on a distroless Node 24 base (no shell, no package manager, non-root).
#
# Base image pins. No digest is given here: digests could not be looked up where this file was
# written, and an invented one would be worse than none. Before publishing, resolve each tag (for
# example `docker buildx imagetools inspect node:24-slim`) and put the digest in both the ARG and the
# line below it:
# pin: node:24-slim@sha256:<digest>
# pin: gcr.io/distroless/nodejs24-debian12:nonroot@sha256:<digest>
#
# Node 24: @kubernetes/client-node 2 needs Node >= 22, and Node does not strip TypeScript types under
# node_modules, so the image runs the JavaScript that tsc emits to dist/, never src/*.ts.
ARG BUILD_IMAGE=node:24-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# With dev dependencies (typescript) and their install scripts: the `node` dev dependency installs
# its binary, which npm scripts put first on PATH. Nothing from this stage but dist/ is kept.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsc -p tsconfig.json: src/ -> dist/, with .ts import specifiers rewritten to .js.
RUN npm run build

FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --ignore-scripts: package.json's "prepare" (`tap build`) is a
# development step and tap is not installed here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# No NODE_OPTIONS here: Node sizes V8's heap from the container's cgroup memory limit but never below
# 259 MiB, so the chart sets --max-old-space-size-percentage (its value heapPercentOfMemoryLimit; see
# bench/README.md). Run outside the chart with a limit under 1 GiB, set NODE_OPTIONS the same way.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# "type": "module" makes dist/*.js ES modules, and dist/version.js reads ../package.json.
COPY package.json ./
# The distroless "nonroot" user, numeric so that the kubelet can check runAsNonRoot.
USER 65532:65532
EXPOSE 8443
# Exec form: node is PID 1 and receives SIGTERM itself (no shell or npm in between), so `serve`
# finishes in-flight admission requests before exiting. Distroless keeps node at /nodejs/bin/node.
ENTRYPOINT ["/nodejs/bin/node", "dist/cli.js"]
CMD ["serve"]
