# PasarKota: the one image recipe for every service and for the one-shot provisioning step.
# Build from the repository root (one pyproject installs every package); SERVICE picks what the image runs:
#   docker build --build-arg SERVICE=catalog  --build-arg PORT=8101 -t pasarkota/catalog .
#   docker build --build-arg SERVICE=orders   --build-arg PORT=8102 -t pasarkota/orders .
#   docker build --build-arg SERVICE=payments --build-arg PORT=8103 -t pasarkota/payments .
#   docker build --build-arg SERVICE=learning --build-arg PORT=8104 -t pasarkota/learning .
#   docker build --build-arg SERVICE=identity --build-arg PORT=8105 -t pasarkota/identity .
#   docker build --build-arg SERVICE=notifications --build-arg PORT=8106 -t pasarkota/notifications .
#   docker build --build-arg SERVICE=portal   --build-arg PORT=8100 -t pasarkota/portal .
#   docker build --build-arg SERVICE=provision -t pasarkota/provision .
# The images differ only in these two values: the command is `pasarkota serve $SERVICE`
# (`pasarkota provision` for SERVICE=provision). Tools and benchmarks (deploy/commands, tests/bench) are not
# needed by a service; the test suite is not in the build context (.dockerignore).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A fixed, unprivileged uid so Kubernetes' runAsNonRoot can verify it; HOME on /tmp (writable even
# with a read-only root filesystem).
RUN useradd --system --uid 10001 --gid 0 --no-create-home --home-dir /tmp pasarkota

WORKDIR /app
# Dependencies first, exactly as locked (versions and hashes), so a code change does not reinstall them and
# a build never resolves something newer; above the build arguments, so all images share this layer.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

ARG SERVICE
ARG PORT=8100
ENV PASARKOTA_SERVICE=${SERVICE} \
    PASARKOTA_HTTP_HOST=0.0.0.0 \
    PASARKOTA_HTTP_PORT=${PORT} \
    PASARKOTA_LOG_FORMAT=json \
    PASARKOTA_CITIES_FILE=/app/config/cities.toml

COPY . .
# SERVICE is a folder of services/ (or provision): a typo fails the build, not the first start.
RUN if [ "$SERVICE" != provision ] && [ ! -d "services/$SERVICE" ]; then \
      echo "build with --build-arg SERVICE=<$(ls services | tr '\n' '|')provision> (got '$SERVICE')" >&2; exit 1; fi \
    && pip install --no-cache-dir --no-deps . && pip check

USER 10001
EXPOSE ${PORT}

# Liveness only (the process answers); readiness (/readyz) is checked by Compose and Kubernetes.
# The provisioning container has no HTTP server and exits when done: nothing to check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD [ "$PASARKOTA_SERVICE" = provision ] || python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PASARKOTA_HTTP_PORT'] + '/healthz', timeout=3)"

# exec: the service is PID 1 and gets SIGTERM directly (graceful shutdown, consumer offsets committed).
CMD ["sh", "-c", "if [ \"$PASARKOTA_SERVICE\" = provision ]; then exec pasarkota provision; else exec pasarkota serve \"$PASARKOTA_SERVICE\"; fi"]
