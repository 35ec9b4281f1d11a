# tickwire-server as a container image: built on Debian bookworm with the
# project's own setup (--server: no browser, node or test libraries), run on
# bookworm-slim as a non-root user. See docs/DEPLOY.md.
#
#   docker build -t tickwire .
#   docker run --rm -p 8080:8080 tickwire
#
# Checked by tests/deploy/check_deploy.mjs (ctest deploy_files): the stages,
# the user, the health check, the port, the flags, and that the runtime
# packages below hold every shared library the built server links.

FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && scripts/setup.sh --server \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DTICKWIRE_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && mkdir -p /out/bin /out/assets \
 && cp /build/bin/tickwire-server /out/bin/ \
 && cp -r /build/www /out/www \
 && cp assets/*.map /out/assets/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmbedtls14 libmbedx509-1 libmbedcrypto7 libsqlite3-0 libhiredis0.14 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/tickwire --create-home tickwire
COPY --from=build /out /opt/tickwire
USER tickwire
WORKDIR /var/lib/tickwire
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# SIGTERM drains (--drain-timeout, default 30 s): give `docker stop -t 45`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/tickwire/bin/tickwire-server", "--web-root", "/opt/tickwire/www", \
            "--map", "/opt/tickwire/assets/arena.map", "--results-db", "/var/lib/tickwire/tickwire.db"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
