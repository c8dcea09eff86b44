# The kaniko2buildkit container image: the release binary, linked statically
# against musl, on Alpine, whose busybox `sh` runs GitLab's job scripts.
#
#   docker run --rm -v "$PWD:/src" -w /src registry.gitlab.com/kaniko2buildkit/kaniko2buildkit:0.1.0 check
#
# The `container-image` job of .gitlab-ci.yml builds it with rootless BuildKit
# on every release tag; tests/packaging/ checks this file.

ARG RUST_VERSION=1.95
ARG ALPINE_VERSION=3.22

FROM rust:${RUST_VERSION}-alpine${ALPINE_VERSION} AS build
# Alpine's Rust targets *-unknown-linux-musl, whose binaries are static.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
 && ./target/release/kaniko2buildkit --version

FROM alpine:${ALPINE_VERSION}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="kaniko2buildkit" \
      org.opencontainers.image.description="Finds Kaniko image builds in GitLab CI files and migrates them to rootless BuildKit" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://gitlab.com/kaniko2buildkit/kaniko2buildkit" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
RUN adduser -D -H -u 10001 kaniko2buildkit
COPY --from=build /src/target/release/kaniko2buildkit /usr/local/bin/kaniko2buildkit
COPY --from=build /src/LICENSE-MIT /src/LICENSE-APACHE /usr/share/licenses/kaniko2buildkit/
USER 10001:10001
WORKDIR /src
ENTRYPOINT ["kaniko2buildkit"]
CMD ["--help"]
