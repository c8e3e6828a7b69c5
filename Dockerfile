FROM python:3.11-slim
WORKDIR /app
ENV HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false MATLAS_HOME=/data MATLAS_HOST=0.0.0.0
COPY pyproject.toml README.md ./
COPY matlas ./matlas
COPY agents ./agents
COPY retrieval ./retrieval
COPY index ./index
COPY gpu ./gpu
COPY workers ./workers
RUN pip install --no-cache-dir .
VOLUME /data
EXPOSE 8000
CMD ["matlas", "serve"]
