# One image for every service; compose picks the service with `command: python -m services.<name>`.
# The base images are build arguments (compose passes PYTHON_IMAGE and NODE_IMAGE): the official
# ones by default, stand-ins where Docker Hub cannot be reached (deploy/README.md).
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:22-slim

FROM ${NODE_IMAGE} AS frontend
WORKDIR /frontend
COPY services/reporting/frontend/package.json services/reporting/frontend/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HTTP_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# The dashboard's GOV.UK Frontend assets (only the dist the page serves).
COPY --from=frontend /frontend/node_modules/govuk-frontend/dist/govuk ./services/reporting/frontend/node_modules/govuk-frontend/dist/govuk
RUN pip install . \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin innovation
USER 10001
EXPOSE 8000
CMD ["python", "-m", "services.reporting"]
