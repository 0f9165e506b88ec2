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
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["run"]
