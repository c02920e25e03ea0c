#!/usr/bin/env bash
# Installs the Debian packages fieldtrail needs to build, test and run.
# Idempotent: packages already present are skipped; nothing is installed when
# everything is there. Needs root (or sudo) only when something is missing.
set -euo pipefail

# prometheus: promtool, which checks /metrics in the tests.
# postgresql-15: the provincial tier's tests start a throw-away server each
# (tests/province/lib.sh); libpq-dev: the county hub's forwarder (hub/province/).
packages=(
  build-essential cmake pkg-config git
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
  libsodium-dev libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
  libcmocka-dev libinih-dev clang-format
  clang libclang-rt-14-dev iproute2 nftables faketime valgrind
  xorriso
  libssl-dev ceph-mon ceph-osd radosgw ceph-common
  curl openssl chromium fonts-wqy-zenhei
  ffmpeg
  prometheus
  postgresql-15 libpq-dev
)

missing=()
for p in "${packages[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [[ $st != *"install ok installed"* ]]; then
    missing+=("$p")
  fi
done

# The dashboard's browser tests drive Chromium with playwright-core from npm;
# a node installed otherwise (with its own npm) needs no Debian npm.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# prometheus is here for its promtool (tests/web/metrics_promtool.sh); its own
# server, which the package starts on port 9090, is not wanted.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1 &&
  [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
