# syntax=docker/dockerfile:1
# Build stage: the binary is built by `make build`, the same command the
# tests run (hack/packaging_test.go), so what we test is what ships.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN make build VERSION=${VERSION} COMMIT=${COMMIT} BINARY=/out/walker

# Final stage: the static binary alone, as a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/walker /walker
USER nonroot:nonroot
# 8000: public HTTP; 9000: metrics (bound to 127.0.0.1 unless WALKER_METRICS_ADDR says otherwise).
EXPOSE 8000 9000
ENTRYPOINT ["/walker"]
CMD ["serve"]
