# syntax=docker/dockerfile:1
#
# Rotor container image.
#
#   docker build -t rotor .
#   docker run --rm -p 8080:8080 -e ROTOR_SECRETS_SYSTEM=... -e ROTOR_ISSUER=https://id.example.com \
#     -e ROTOR_BFF_CLIENT_SECRET=... rotor        # or -e ROTOR_BFF_ENABLED=false
#
# The image listens on 0.0.0.0, so it is never a loopback-only setup: it
# refuses to start without ROTOR_SECRETS_SYSTEM (and, with the BFF on,
# ROTOR_BFF_CLIENT_SECRET) instead of generating secrets next to the data.
#
# The binary is built with cgo (SQLite via github.com/mattn/go-sqlite3), so it
# links dynamically against glibc: the final stage must be a glibc system of
# the same Debian release as the build stage (bookworm).

# ---- build ------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# cgo is required by the SQLite driver; the image already has gcc.
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/rotor ./cmd/rotor

# ---- runtime ----------------------------------------------------------------
# Why debian:bookworm-slim and not gcr.io/distroless/base-debian12:nonroot?
# Distroless (the glibc "base" flavour; "static" cannot run a cgo binary)
# would give a smaller image with no shell, but it also has no curl, and
# Rotor has no built-in probe subcommand, so neither the HEALTHCHECK below
# nor the docker-compose healthchecks could call /readyz. bookworm-slim plus
# curl costs roughly 80 MB in total and buys a working healthcheck. If Rotor
# ever gets a `rotor healthcheck` command, switch to
# gcr.io/distroless/base-debian12:nonroot and use that command instead.
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin rotor \
 && install -d -o 10001 -g 10001 -m 0700 /data

COPY --from=build /out/rotor /rotor

# /data is the working directory and the only writable place: with SQLite the
# default DSN (data/rotor.db) lands in /data/data/; mount a volume on /data
# to keep it. With PostgreSQL nothing is written here.
WORKDIR /data
USER 10001:10001

# The built-in default listens on loopback only, which is unreachable from
# outside a container. /metrics is served on this address too unless
# ROTOR_METRICS_ADDR puts it on a private one.
ENV ROTOR_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080

# /readyz answers 200 only while the database answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]

# Rotor handles SIGTERM itself (graceful shutdown), so it can run as PID 1.
ENTRYPOINT ["/rotor"]
CMD ["serve"]
