# syntax=docker/dockerfile:1
# Build stage: the Swift toolchain (developed on 6.3.1) plus librdkafka's headers (Debian 12: 2.0.2).
ARG SWIFT_VERSION=6.3
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies first, so source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product assure-worker --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/assure-worker" /usr/local/bin/assure-worker

# Runtime stage: librdkafka and the binary; curl for the health check.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin assure
COPY --from=build /usr/local/bin/assure-worker /usr/local/bin/assure-worker
USER assure
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/assure-worker"]
CMD ["run"]
