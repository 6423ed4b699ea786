# understudy container image: the same program as the CLI.
#
#   docker build -t understudy .
#   docker run --rm understudy sync --source "$PROD" --target "$STAGE" --config /cfg/understudy.yaml
#
# Build stage: a static binary (no cgo), so the runtime image needs no Go and no libc match.
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/understudy ./cmd/understudy

# Runtime stage: understudy plus pg_dump. pg_dump must be at least as new as every source
# server it meets; version 17 dumps servers from 9.2 to 17.
FROM alpine:3.21
ARG PG_MAJOR=17
RUN apk add --no-cache ca-certificates tzdata "postgresql${PG_MAJOR}-client" \
    && addgroup -S understudy && adduser -S -G understudy -h /home/understudy understudy
COPY --from=build /out/understudy /usr/local/bin/understudy
USER understudy
WORKDIR /home/understudy
ENTRYPOINT ["/usr/local/bin/understudy"]
CMD ["help"]
