FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pulse pulse
COPY schemas schemas
COPY streams streams
COPY sinks sinks
COPY ui ui
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/pulse --shell /usr/sbin/nologin pulse
# Not root, and the code not writable by the parts: one broken into holds no more than its own
# secrets and its data directory.
ENV PULSE_DATA_DIR=/var/lib/pulse HOME=/var/lib/pulse
USER 10001
ENTRYPOINT ["pulse"]
