# Cairn server image on Node 24 LTS (the base image provides it; dev dependencies are left out).
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY bin ./bin
COPY src ./src
USER node
EXPOSE 8080
# A 4 MiB young generation: full-chain requests (retention plan, dashboard) peak 66–108 MiB lower
# (docs/CONFIG.md, "Memory of a served process").
CMD ["node", "--max-semi-space-size=1", "bin/cairn.js", "serve"]
