#!/usr/bin/env bash
# Installs whatever tickwire needs that is missing, then builds
# libwebsockets 4.1.6 (mbedTLS, static) into build/_deps once.
# Idempotent: a second run checks and returns in seconds.
#
# --server: only what building tickwire-server and its page needs (the
# container image's build stage: no chromium, node or test libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=all
if [ "${1:-}" = --server ]; then PROFILE=server; fi
ROOT=$(pwd)
DEPS="$ROOT/build/_deps"
LWS_VER=4.1.6
LWS_PREFIX="$DEPS/lws-$LWS_VER"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS="build-essential patch cmake pkg-config libmbedtls-dev libcglm-dev libcmocka-dev libsqlite3-dev zlib1g-dev \
libhiredis-dev redis-server \
clang-14 lld-14 libclang-rt-14-dev chromium nodejs openssl ca-certificates xz-utils"

if [ $PROFILE = server ]; then
  PKGS=$(printf '%s\n' $PKGS | grep -vxE 'chromium|nodejs|libcmocka-dev|redis-server|zlib1g-dev' | tr '\n' ' ')
fi
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # node may come from elsewhere (e.g. nodesource): accept a working node >= 18
    if [ "$p" = nodejs ] && command -v node >/dev/null && command -v npm >/dev/null; then continue; fi
    missing="$missing $p"
  fi
done
if [ $PROFILE = all ] && ! command -v npm >/dev/null; then missing="$missing npm"; fi

# The first Debian archive URI in this machine's apt sources (one-line
# "deb [opts] URI suite ..." or deb822 "URIs:"), not the security archive.
debian_mirror() {
  {
    grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/'
    grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources |
      sed -E 's/^[[:space:]]*URIs:[[:space:]]*//' | tr ' ' '\n'
  } | grep -E '^(https?|file)://' | grep -v security | head -1
}

apt_updated=0
apt_update() {
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
}
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# npm packages of the tests (tests/browser/package-lock.json): playwright-core
# for the browser tests (uses Debian's chromium; no browser download), pinned
# to the newest release that still runs on bookworm's node 18 (1.62 and later
# need node 20); yaml to check the deployment files. Installed again
# whenever the lock file changes.
lock_want=$(cksum < "$ROOT/tests/browser/package-lock.json")
lock_have=$(cat "$ROOT/tests/browser/node_modules/.tickwire-lock" 2>/dev/null || true)
if [ $PROFILE = all ] && [ "$lock_have" != "$lock_want" ]; then
  echo "setup: npm ci (tests/browser: playwright-core, yaml; uses Debian's chromium)"
  (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --silent)
  echo "$lock_want" > "$ROOT/tests/browser/node_modules/.tickwire-lock"
fi

# libwebsockets from source, with mbedTLS, static, with our patches
# (scripts/lws-*.patch; built again whenever they change)
patch_want=$(cat "$ROOT"/scripts/lws-$LWS_VER-*.patch | cksum)
patch_have=$(cat "$LWS_PREFIX/.tickwire-patches" 2>/dev/null || true)
if [ ! -f "$LWS_PREFIX/lib/libwebsockets.a" ] || [ "$patch_have" != "$patch_want" ]; then
  mkdir -p "$DEPS/src"
  tarball=$(ls "$DEPS"/src/libwebsockets_${LWS_VER}*.orig.tar.* 2>/dev/null | head -1 || true)
  if [ -z "$tarball" ]; then
    if ! grep -rqsE "^Types:.*deb-src|^deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      # the mirror and signing key this machine's apt already uses for Debian
      # (one-line sources.list or deb822 .sources), never a host of our own
      mirror=$(debian_mirror || true)
      if [ -z "$mirror" ]; then
        echo "setup: no Debian mirror found in /etc/apt/sources.list{,.d/}; add a deb-src line for libwebsockets and rerun" >&2
        exit 1
      fi
      suite=$( (. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}") )
      keyring=/usr/share/keyrings/debian-archive-keyring.gpg
      echo "setup: adding a deb-src entry for $suite from $mirror"
      { printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n' "$mirror" "$suite"
        if [ -f "$keyring" ]; then printf 'Signed-By: %s\n' "$keyring"; fi
      } | $SUDO tee /etc/apt/sources.list.d/tickwire-src.sources >/dev/null
      apt_updated=0
    fi
    apt_update
    (cd "$DEPS/src" && apt-get source --download-only -qq libwebsockets 2>&1 | grep -v "unsandboxed" || true)
    tarball=$(ls "$DEPS"/src/libwebsockets_${LWS_VER}*.orig.tar.* 2>/dev/null | head -1 || true)
    if [ -z "$tarball" ]; then
      echo "setup: libwebsockets $LWS_VER source not found via apt-get source (Debian bookworm ships $LWS_VER)." >&2
      echo "setup: put libwebsockets_${LWS_VER}.orig.tar.gz (upstream tag v$LWS_VER) into $DEPS/src and rerun." >&2
      exit 1
    fi
  fi
  rm -rf "$DEPS/src/lws" "$DEPS/lws-build"
  mkdir -p "$DEPS/src/lws" "$DEPS/lws-build"
  tar -xf "$tarball" -C "$DEPS/src/lws" --strip-components=1
  for p in "$ROOT"/scripts/lws-$LWS_VER-*.patch; do
    patch -s -p1 -d "$DEPS/src/lws" < "$p"
  done
  echo "setup: building libwebsockets $LWS_VER (mbedTLS, static)"
  cmake -S "$DEPS/src/lws" -B "$DEPS/lws-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$LWS_PREFIX" -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DLWS_WITH_MBEDTLS=ON -DLWS_WITH_SSL=ON -DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF \
    -DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF -DLWS_WITH_HTTP2=OFF \
    -DLWS_IPV6=ON -DDISABLE_WERROR=ON >"$DEPS/lws-build.log" 2>&1 ||
    { tail -30 "$DEPS/lws-build.log"; exit 1; }
  cmake --build "$DEPS/lws-build" -j"$(nproc)" >>"$DEPS/lws-build.log" 2>&1 ||
    { tail -30 "$DEPS/lws-build.log"; exit 1; }
  cmake --install "$DEPS/lws-build" >>"$DEPS/lws-build.log" 2>&1
  echo "$patch_want" > "$LWS_PREFIX/.tickwire-patches"
fi
echo "setup: ok"
