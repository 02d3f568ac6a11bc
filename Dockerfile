# syntax=docker/dockerfile:1

# entraide as a small static image: a pure Go binary (SQLite and Matrix
# encryption included, no cgo) on distroless, run by a user without rights.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t entraide .
#   docker run -d --name entraide -v entraide-data:/data -p 8080:8080 \
#     --env-file /etc/entraide/env --stop-timeout 30 entraide
#
# docs/deploy.md explains the setups; README.md lists every ENTRAIDE_* setting.

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, so that a change of code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
# -tags goolm: Matrix end-to-end encryption in pure Go. The binary embeds
# the time zone database (time/tzdata), so the image needs none.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags goolm \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/entraide ./cmd/entraide \
 && mkdir -p /out/data

# distroless/static: CA certificates (for Matrix, Slack and Discord over
# TLS) and a nonroot user (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian13:nonroot
COPY --from=build /out/entraide /entraide
# The database's folder, owned by the user that writes it.
COPY --from=build --chown=65532:65532 /out/data /data
ENV ENTRAIDE_DATABASE=/data/entraide.db \
    ENTRAIDE_HTTP_ADDR=:8080 \
    ENTRAIDE_LOG_FORMAT=json
VOLUME ["/data"]
# ENTRAIDE_HTTP_ADDR: /healthz, /metrics, calendars, the animators' page.
# Slack's Events API, when used, listens on ENTRAIDE_SLACK_LISTEN, another
# port (such as :8081) to publish as well.
EXPOSE 8080
# No HEALTHCHECK: the image has no tool to run one. Probe GET /healthz on
# port 8080 from the orchestrator instead (see docs/deploy.md).
USER nonroot:nonroot
# SIGTERM (docker stop) stops entraide gracefully; give it 30 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/entraide"]
CMD ["run"]
