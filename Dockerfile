# The web app's browser libraries (htmx, 3Dmol.js) from npm, at package-lock.json's versions.
FROM node:20-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
COPY matlas/web/assets.mjs matlas/web/assets.mjs
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
ENV HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MATLAS_HOME=/data MATLAS_HOST=0.0.0.0
COPY pyproject.toml README.md ./
COPY matlas ./matlas
COPY --from=web /app/matlas/web/static/vendor ./matlas/web/static/vendor
COPY agents ./agents
COPY retrieval ./retrieval
COPY index ./index
COPY gpu ./gpu
COPY workers ./workers
RUN pip install --no-cache-dir .
VOLUME /data
EXPOSE 8000
CMD ["matlas", "serve"]
