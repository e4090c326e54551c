# The worker image the Helm chart (charts/covid-ct-triage) runs, for machines with Docker:
#   docker build -t covid-ct-triage:0.1.0 .
# Without Docker (a closed network reaching only package registries), `npm run image:build`
# (scripts/image/build-cpu.sh) builds the same image as an OCI layout, on a Debian rootfs with no
# shell instead of node:*-slim; CI builds and runs that one (test/integration/container-image.spec.ts).
# It reads WORKDIR, ENV, USER, EXPOSE and CMD from this file's final stage: change them here only.
FROM node:26.12.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script (which downloads GPU providers) stays off, as in package.json allowScripts.
RUN npm ci --ignore-scripts && npm rebuild @swc/core
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev
# onnxruntime-node ships binaries for every platform; keep linux/x64's only (as image:build does).
RUN find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 -type d ! -path '*/linux/x64' -exec rm -rf {} + \
    && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 1 -maxdepth 1 -type d -empty -delete

FROM node:26.12.1-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    HTTP_PORT=3000 \
    MODEL_MANIFEST=/models/covid-triage-demo/manifest.json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The demonstration model set; a deployment may mount its own over /models instead (chart: model.source).
COPY models /models
# Non-root, matching the chart's securityContext; the root filesystem may be read-only (/tmp is a volume).
USER 10001:10001
EXPOSE 3000
# otel.js first: OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; docs/telemetry.md).
CMD ["node", "--import", "./dist/apps/worker/src/otel.js", "dist/apps/worker/src/main.js"]
