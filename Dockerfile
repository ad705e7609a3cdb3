FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY signalling ./signalling
COPY web ./web
RUN pip install --no-cache-dir . && useradd --system --home /app balie && chown -R balie /app \
    && mkdir -p /data/documents && chown balie:balie /data/documents && chmod 700 /data/documents
# A named volume mounted at /data/documents starts as a copy of this directory: owned by the app's
# user, not by root, so the nodes and the worker can write the (encrypted) documents.
USER balie
EXPOSE 8000
CMD ["balie", "run", "--host", "0.0.0.0", "--port", "8000"]
