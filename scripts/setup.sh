#!/usr/bin/env bash
# Sets up hearth on a Debian bookworm machine: system packages, npm dependencies,
# the native addon, the TypeScript build and the examples' own dependencies.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# What hearth needs from Debian (see README "Host requirements").
APT_PACKAGES=(
  build-essential   # node-gyp: the native addon and better-sqlite3
  python3           # node-gyp, and the python3.11 runtime (/usr/bin/python3)
  python3-numpy     # examples/numpy-python and the heavy-init benchmarks
  iproute2          # network namespaces for instances
  slirp4netns       # egress for instances without host sysctl or firewall changes
  crun              # the container-per-instance baseline in bench/
  # bench/functions/ (FunctionBench/SeBS-style benchmark functions, see docs/evaluation.md)
  python3-jinja2    # py-dynamic-html
  python3-chameleon # py-chameleon
  python3-networkx  # py-pagerank
  python3-pil       # py-image, py-image-recognition
)
# Only for the full evaluation (`npm run setup:bench`, or HEARTH_SETUP_BENCH=full): large,
# and not needed by the tests or by `npm run bench -- --quick`.
if [ "${HEARTH_SETUP_BENCH:-}" = "full" ]; then
  APT_PACKAGES+=(
    python3-opencv  # py-video
    ffmpeg          # py-video (generates its clip)
    python3-torch   # py-image-recognition (ResNet-18, random weights)
  )
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "hearth setup: missing Debian packages: ${missing[*]} — run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "hearth setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Build native code against the headers of the Node.js that runs hearth when they are installed locally.
node_prefix="$(dirname "$(dirname "$(command -v node)")")"
if [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

echo "hearth setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
if [ -f native/binding.gyp ]; then
  echo "hearth setup: building the native addon"
  npm run --silent build:native >/dev/null
fi
echo "hearth setup: building TypeScript"
npm run --silent build
for example in examples/*/; do
  if [ -f "$example/package.json" ] && grep -q '"dependencies"' "$example/package.json"; then
    echo "hearth setup: installing dependencies of $example"
    npm --prefix "$example" ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null
  fi
done
for fn in bench/functions/*/; do
  if [ -f "$fn/package.json" ] && grep -q '"dependencies"' "$fn/package.json"; then
    echo "hearth setup: installing dependencies of $fn"
    npm --prefix "$fn" ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null
  fi
done
echo "hearth setup: done. Start hearth with: npx hearth up"
