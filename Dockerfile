FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pulse pulse
COPY schemas schemas
COPY streams streams
COPY sinks sinks
COPY ui ui
RUN pip install --no-cache-dir .
ENTRYPOINT ["pulse"]
