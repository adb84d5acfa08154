# One image per service, for those with Docker (make images builds the same without it):
#   docker build --build-arg SERVICE=order -t ghcr.io/skmall/order:0.1.0 .
FROM golang:1.26 AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN test -n "$SERVICE" && bash scripts/build-app.sh "$SERVICE" /out/service

FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="skmall-${SERVICE}" \
      org.opencontainers.image.description="SK MALL ${SERVICE} service" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/skmall/skmall"
COPY --from=build /out/service /app/service
USER 65532:65532
ENTRYPOINT ["/app/service"]
