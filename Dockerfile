# syntax=docker/dockerfile:1
# Kubemate's container image. Two stages: `build` installs every dependency with the lock file,
# compiles TypeScript and then drops the development dependencies; the runtime stage holds only
# what the npm package holds (package.json "files") plus the production node_modules, and runs as
# a non-root user on a read-only root filesystem (the data directory and /tmp are volumes).
#
#   docker build -t registry.example.internal/kubemate:0.1.0 .
#   docker build --build-arg NODE_IMAGE=registry.example.internal/node:22.23.5-bookworm-slim@sha256:<digest> .
#
# NODE_IMAGE is a pinned tag. Pin it by digest too where you mirror it (see docs/deploy.md): the
# digest is the one your registry reports for the tag you mirrored.
ARG NODE_IMAGE=node:22.23.5-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary can be downloaded (air-gapped builds).
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY tools ./tools
COPY mcp ./mcp
COPY policies ./policies
COPY rag ./rag
COPY agent ./agent
COPY bots ./bots
COPY alerts ./alerts
COPY state ./state
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    KUBEMATE_DATA_DIR=/data \
    KUBEMATE_SERVER__HOST=0.0.0.0 \
    KUBEMATE_SERVER__PORT=8080
WORKDIR /app
# What the npm package carries ("files" in package.json), nothing else from the source tree.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/app ./dist/app
COPY --from=build /src/dist/tools ./dist/tools
COPY --from=build /src/dist/mcp ./dist/mcp
COPY --from=build /src/dist/policies ./dist/policies
COPY --from=build /src/dist/rag ./dist/rag
COPY --from=build /src/dist/agent ./dist/agent
COPY --from=build /src/dist/bots ./dist/bots
COPY --from=build /src/dist/alerts ./dist/alerts
COPY --from=build /src/dist/state ./dist/state
COPY agent/prompts/*.md ./agent/prompts/
COPY tools/inspection/checks ./tools/inspection/checks
COPY rag/runbooks ./rag/runbooks
COPY kubemate.example.yaml policy.example.yaml ./
COPY docs ./docs
# The state (SQLite files, the embedded runbook index) lives in /data; mount a volume there, and an
# emptyDir on /tmp, and the root filesystem can be read-only. The node user of the base image (uid
# 1000) owns /data; numeric so that Kubernetes can check runAsNonRoot.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME ["/data", "/tmp"]
USER 1000:1000
EXPOSE 8080
# /healthz answers when the process serves HTTP; /readyz when the API servers answer (see
# docs/deploy.md for the Kubernetes probes). 127.0.0.1 is an allowed Host by default.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/app/main.js"]
CMD ["serve"]
