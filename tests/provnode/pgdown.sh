#!/usr/bin/env bash
# A provincial node's fault: pgdown (tests/provnode/faults.sh says what).
exec bash "$(dirname "$0")/faults.sh" pgdown
