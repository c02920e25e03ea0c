#!/usr/bin/env bash
# Private by default: with `listen` on loopback and no media settings, the
# media port (7402) and the chunk data path (7403) bind 127.0.0.1, not every
# interface; `media.data_listen` still chooses (here the wildcard host).
# The defaults are fixed ports: exit 77 (skipped) when something else holds
# 7402 or 7403.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v ss >/dev/null || fail "ss (iproute2, ops/install-deps.sh) is not installed"
MP=7402
DP=7403
if port_listened $MP || port_listened $DP || ! port_claim $MP $DP; then
  echo "SKIP: something holds port $MP or $DP"
  exit 77
fi
PORT=$(free_port)
"$HUB" init --state "$T/hub" --listen "tcp://127.0.0.1:$PORT" --advertise 127.0.0.1 --json \
  >"$T/hub.init.json" || fail "hub init failed"
hub_conf_try alerts.publish off
hub_conf_try http off
if grep -q "^media\." "$T/hub/hub.conf"; then
  fail "hub.conf already has media settings: $(grep "^media\." "$T/hub/hub.conf")"
fi
# listen_on PORT: the local address(es) the hub listens on at PORT.
listen_on() {
  ss -ltnH "( sport = :$1 )" | awk '{print $4}' | sort -u | tr '\n' ' '
}
hub_start
wait_until 10 "the data path to listen" port_listened $DP
m=$(listen_on $MP)
d=$(listen_on $DP)
echo "listen = 127.0.0.1:$PORT; media port binds: $m; data path binds: $d"
[ "$m" = "127.0.0.1:$MP " ] || fail "the media port binds '$m', expected 127.0.0.1:$MP"
[ "$d" = "127.0.0.1:$DP " ] || fail "the data path binds '$d', expected 127.0.0.1:$DP"
hub_stop
# Configured: the data path on every interface, said so.
echo "media.data_listen = tcp://*:$DP" >>"$T/hub/hub.conf"
hub_start
wait_until 10 "the data path to listen" port_listened $DP
d=$(listen_on $DP)
m=$(listen_on $MP)
echo "media.data_listen = tcp://*:$DP: data path binds: $d; media port: $m"
case $d in
0.0.0.0:* | \*:* | "[::]:"*) ;;
*) fail "media.data_listen = tcp://*: the data path binds '$d'" ;;
esac
[ "$m" = "127.0.0.1:$MP " ] || fail "the media port binds '$m' after the change"
hub_stop
