#!/usr/bin/env bash
# A provincial node's fault: kill9 (tests/provnode/faults.sh says what).
exec bash "$(dirname "$0")/faults.sh" kill9
