# shellcheck shell=bash
# Installs the Debian packages a script needs when they are missing.
# Sourced by the scripts in scripts/; not meant to be run on its own.
#
# As root it runs `apt-get update` (once per run, shared with child scripts)
# and `apt-get install -y --no-install-recommends <missing>`. As another user
# it prints the exact command and exits 1. Node.js and npm come from another
# source on the machines ws targets and must never be installed with apt
# (Debian's npm conflicts with that nodejs), so they are refused here.

# What each script needs.
# shellcheck disable=SC2034
WS_PACKAGES_BUILD=(cmake ninja-build ccache g++ pkg-config libbenchmark-dev libsimdjson-dev libasio-dev libssl-dev liburing-dev libnghttp2-dev
  libhiredis-dev zlib1g-dev)
# The benchmarks compare ws with Boost.Beast and websocketpp (bench/compare).
WS_PACKAGES_BENCH=("${WS_PACKAGES_BUILD[@]}" libboost-dev libwebsocketpp-dev python3 strace)
WS_PACKAGES_TEST_QUICK=("${WS_PACKAGES_BENCH[@]}" libgtest-dev libgmock-dev librapidcheck-dev
  python3-websockets python3-wsproto python3-h2 openssl redis-server libseccomp-dev
  tinyproxy microsocks)
WS_PACKAGES_TEST=("${WS_PACKAGES_TEST_QUICK[@]}" clang libclang-rt-14-dev chromium)

ws_package_installed() {
  local status
  status=$(dpkg -s "$1" 2>/dev/null || true)
  [[ $status == *"Status: install ok installed"* ]]
}

# ws_require_packages <package>...
ws_require_packages() {
  local package missing=()
  for package in "$@"; do
    case $package in
      nodejs | npm)
        echo "ws: refusing to install $package with apt (it conflicts with the installed Node.js)" >&2
        exit 1
        ;;
    esac
  done
  if ! command -v dpkg >/dev/null 2>&1; then
    echo "ws: no dpkg here, so packages cannot be checked; the scripts expect: $*" >&2
    return 0
  fi
  for package in "$@"; do
    ws_package_installed "$package" || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "ws: these Debian packages are missing: ${missing[*]}" >&2
    echo "Install them as root, then run this script again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "ws: installing missing Debian packages: ${missing[*]}"
  if [[ -z ${WS_APT_UPDATED:-} ]]; then
    apt-get update
    export WS_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}
