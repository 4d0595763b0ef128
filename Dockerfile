# syntax=docker/dockerfile:1
#
# tenantry: one image with the four binaries (api, worker, scheduler and
# the tenantry operator CLI) in /usr/local/bin. The default command is the
# api; run another role by overriding the command, e.g.
#   docker run … tenantry:local worker
#   docker run … tenantry:local tenantry partner create --name acme
# Configuration is read from the environment; see docs/operations.md.

# ---- build -----------------------------------------------------------------
# The build stage runs on the builder's own platform and cross-compiles for
# the target one (CGO is off), so multi-arch builds need no emulation.
# GO_VERSION must satisfy the go line of go.mod (1.26.x); golang:1.26 tracks
# the newest 1.26 patch release (build with --pull to refresh a stale one).
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Dependencies first, so editing the code does not re-download modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/ \
        ./cmd/api ./cmd/worker ./cmd/scheduler ./cmd/tenantry

# ---- run -------------------------------------------------------------------
# Static binaries need no libc; distroless/static has CA certificates and
# tzdata, and its :nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER nonroot:nonroot
EXPOSE 8080
# The api listens on 127.0.0.1:8080 unless told otherwise; in a container
# it must listen on every interface to be reachable.
ENV TENANTRY_ADDR=0.0.0.0:8080
# The binaries stop gracefully on SIGTERM (docker stop's default signal).
CMD ["api"]
