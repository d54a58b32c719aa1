#!/usr/bin/env bash
# Runs the soak test for a given number of seconds (default 1800):
#   test/soak/run.sh [SECONDS]
# SEGSTORE_SEED and SEGSTORE_SOAK_CLIENTS pass through (see soak.pl).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SEGSTORE_SOAK_SECONDS=${1:-1800} SUITES=soak exec scripts/test.sh
