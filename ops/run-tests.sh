#!/usr/bin/env bash
# Runs the whole test suite. (The local cluster start/stop is added by the ops tooling.)
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pytest "$@"
