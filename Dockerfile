# syntax=docker/dockerfile:1
# Switchboard's image: a static binary on distroless, run as a non-root user.
#
#   docker build -t switchboard .
#   docker run --env-file bot.env -p 8080:8080 switchboard
#
# bench/dockerfile_test.go runs this file's build command and checks the rest,
# so the image keeps building the very binary `go build ./cmd/bot` makes.

# Build: a static binary (no cgo), the same one `go build ./cmd/bot` makes.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/bot ./cmd/bot

# Run: no shell, no package manager, a non-root user (uid 65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bot /bot
USER nonroot:nonroot
ENV HTTP_ADDR=:8080
EXPOSE 8080
# The image has no curl: the bot checks its own /healthz on HTTP_ADDR.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/bot", "-healthcheck"]
ENTRYPOINT ["/bot"]
