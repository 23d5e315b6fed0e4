# wattlet agent image, for users with Docker/BuildKit:  docker build -t wattlet:dev .
# Same content as `make image` (hack/image.sh), which builds it here without a Docker daemon:
# /usr/local/bin/wattlet and /usr/local/bin/raplsim, Debian 12's shared libraries they link,
# entrypoint wattlet, default command `run`. The Helm chart runs `wattlet` and `raplsim`.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc clang llvm make pkg-config libc6-dev git ca-certificates \
      libyaml-dev libwebsockets-dev libjansson-dev libcurl4-openssl-dev libssl-dev \
      libbpf-dev bpftool libelf-dev zlib1g-dev libpfm4-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The build packages are installed above; mark hack/deps.sh (which also lists test-only
# packages) as done so make does not install those into the build stage.
RUN mkdir -p build && touch build/.deps-ok && make -j"$(nproc)" build/wattlet build/raplsim

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libyaml-0-2 libwebsockets17 libjansson4 libcurl4 libssl3 libbpf1 libelf1 zlib1g libpfm4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/wattlet /var/lib/wattlet
COPY --from=build /src/build/wattlet /src/build/raplsim /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/wattlet"]
CMD ["run"]
