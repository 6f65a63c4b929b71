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

# Runtime stage: the binary and only the shared libraries it loads: librdkafka (with its TLS, SASL
# and compression libraries) and libcurl (Foundation's URLSession, used by `demo` and `healthcheck`);
# ca-certificates for TLS to brokers and databases. The Swift runtime is linked in statically; no
# shell tools, no curl: the health check is the binary's own `healthcheck` subcommand.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 assure \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin assure
COPY --from=build /usr/local/bin/assure-worker /usr/local/bin/assure-worker
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/assure-worker", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/assure-worker"]
CMD ["run"]
