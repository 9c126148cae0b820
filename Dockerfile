# refbot: one process per container serving POST /slack/events, GET /healthz and GET /metrics on :3000.
# Written to work but not built on the project's CI machine (it has no Docker engine); see README "Deploy".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 refbot
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY migrations ./migrations
COPY slackfake ./slackfake
RUN pip install .

USER refbot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"

# Run `refbot db upgrade` as a release step (a one-off container) before starting new replicas.
CMD ["refbot", "serve", "--host", "0.0.0.0", "--port", "3000"]
