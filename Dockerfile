# LeadPilot: one static binary (serve | worker | all | migrate | seed) in a
# distroless image that runs as nonroot. Build: `make docker`.
# RUN --mount needs BuildKit (the default builder since Docker 23).

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
# Dependencies first, so this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/leadpilot ./cmd/leadpilot

# static-debian12 carries CA certificates and /etc/passwd entries for nonroot;
# IANA time zones come from time/tzdata compiled into the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leadpilot /leadpilot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/leadpilot"]
CMD ["serve"]
