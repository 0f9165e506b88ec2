# syntax=docker/dockerfile:1.7
# pt-operator image: build in one stage, run Node 24 (slim, pinned release) as a non-root user.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
ARG RUNTIME_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The `node` devDependency would fetch a second Node binary: the image already has Node 24.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
ENV NODE_ENV=production
# A numeric non-root user, so runAsNonRoot can verify it; the chart runs as 65532 too.
USER 65532:65532
EXPOSE 8081
# A small young generation (1 MiB semi-spaces): V8 sizes it from the memory it sees, and on a large node lets it
# grow to 64 MiB; at 1,000 endpoints the operator's peak RSS was 282 MiB without this flag and 148 MiB with it, at
# the same CPU time (docs/benchmarks.md, "Memory"). bench/ reads the flags from this line, so the benchmarks run
# the operator as this image does.
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/main.js"]
CMD ["run"]
