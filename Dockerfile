# syntax=docker/dockerfile:1
# The conductor image, which runs every part: `conductor run` (controller and MCP front end) and `conductor agent`.
#   docker build -t ghcr.io/mcp-conductor/conductor .
#   docker build --target examples -t ghcr.io/mcp-conductor/conductor-examples .   # for deploy/agents' examples
# The build step is scripts/build-release.sh, the script the tests run too (Tests/e2e/test_deploy.py): no
# container engine runs where this project is tested, so the path that makes the image is tested through it.

# The build and the runtime share a Debian release, so the executable finds the glibc and libcurl it was linked with.
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcurl4-openssl-dev libnghttp2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The dependencies in a layer of their own, fetched again only when the manifest changes.
COPY Package.swift ./
RUN swift package resolve
COPY . .
RUN scripts/build-release.sh /out

FROM ${RUNTIME_IMAGE} AS runtime
# libcurl4 brings libnghttp2 (HTTP/2); ca-certificates for API servers and MCP servers with public certificates.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libcurl4 libstdc++6 \
    && rm -rf /var/lib/apt/lists/*
# The executable with the Swift runtime libraries beside it (scripts/build-release.sh).
COPY --from=build /out/ /opt/conductor/
# Fails the build here, not in a pod, if the runtime lacks a library the executable needs.
RUN ! ldd /opt/conductor/conductor | grep "not found" && /opt/conductor/conductor --help >/dev/null
ENV PATH=/opt/conductor:$PATH \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/opt/conductor/swift-backtrace-static
# The same uid and gid as the manifests' runAsUser and runAsGroup (deploy/): no root, no home directory needed.
USER 65532:65532
ENTRYPOINT ["/opt/conductor/conductor"]
CMD ["--help"]

# deploy/agents' echo and time pools: python3 for echo.py (command executor) and the reference MCP server
# mcp-server-time (mcp executor over stdio). Your own pools start FROM the conductor image the same way.
FROM runtime AS examples
USER root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/examples \
    && /opt/examples/bin/pip install --no-cache-dir "mcp-server-time>=2025.1"
ENV PATH=/opt/examples/bin:$PATH
USER 65532:65532

# The default target: the conductor image alone.
FROM runtime AS conductor
