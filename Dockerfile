# tierslieu: one image for every role (`tierslieu serve --role all|api|controller`).
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY tierslieu ./tierslieu
COPY devices ./devices
COPY firmware_bridges ./firmware_bridges
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.12-slim
RUN useradd --system --home-dir /var/lib/tierslieu --create-home tierslieu
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY deploy/entrypoint.sh /usr/local/bin/tierslieu-entrypoint
USER tierslieu
WORKDIR /var/lib/tierslieu
ENV TIERSLIEU_DATA_DIR=/var/lib/tierslieu \
    TIERSLIEU_ENVIRONMENT=production \
    TIERSLIEU_BEHIND_TLS_PROXY=true \
    TIERSLIEU_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health/live', timeout=2)"]
ENTRYPOINT ["tierslieu-entrypoint"]
CMD ["serve", "--role", "all"]
