# lessonbot's container image: a static binary on an empty base.
#
#   docker build -t lessonbot .
#   docker run -d --name lessonbot --stop-timeout 30 -v lessonbot-data:/data \
#     -v "$PWD/lessons:/lessons:ro" -e TELEGRAM_BOT_TOKEN lessonbot
#
# BASE_IMAGE is the final stage's base. The default, scratch, is empty: the
# build stage below supplies everything lessonbot needs from a base (CA
# certificates, a passwd entry for the non-root user, /tmp), and the binary
# carries its own time zone database (main.go imports time/tzdata, the
# same as -tags timetzdata), so no zoneinfo is copied and zones work the
# same on any base. To build on a distroless image instead, pass a
# distroless *static nonroot* image (Debian 12 based, uid 65532, no shell):
#   docker build --build-arg BASE_IMAGE=<distroless static-debian12:nonroot image> -t lessonbot .
# Its own CA bundle and passwd are then replaced by the builder's, which
# hold the same entries.
ARG BASE_IMAGE=scratch

FROM golang:1.26-bookworm AS build
WORKDIR /src
# The modules change less often than the code: download them in a layer of
# their own, reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary that needs no libc in the final image
# (the SQLite driver is pure Go). -trimpath: no build machine paths in it.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -o /out/rootfs/lessonbot ./cmd/lessonbot
# The final image's files, owned by root: the CA bundle for https to the
# platforms, a passwd and group naming uid 65532 (nonroot, as in
# distroless), a world-writable /tmp for SQLite's temporary files, the
# configuration and the repository's lessons as a default set.
RUN set -eu; \
    cd /out/rootfs; \
    mkdir -p etc/ssl/certs etc/lessonbot lessons; \
    install -m 1777 -d tmp; \
    cp /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' >etc/group; \
    cp /src/deploy/container.yaml etc/lessonbot/config.yaml; \
    cp -R /src/lessons/. lessons/; \
    chmod -R a+rX etc lessons; \
    mkdir -p /out/state/data

FROM ${BASE_IMAGE}
COPY --from=build /out/rootfs/ /
# /data belongs to the user lessonbot runs as, so that a new named volume
# mounted there (which starts as a copy of it) is writable.
COPY --from=build --chown=65532:65532 /out/state/ /
USER 65532:65532
# The database (and its backups); mount a named volume or a folder owned
# by uid 65532 here.
VOLUME /data
# The admin listener: /metrics, /livez, /healthz, /readyz.
EXPOSE 9090
# lessonbot health reads the same configuration as run to find the admin
# listener, and gives up after 2 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/lessonbot", "health", "--config", "/etc/lessonbot/config.yaml"]
ENTRYPOINT ["/lessonbot"]
CMD ["run", "--config", "/etc/lessonbot/config.yaml"]
