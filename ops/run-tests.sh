#!/usr/bin/env bash
# Runs the whole test suite (unit + integration) against a real local Kafka and Cassandra:
# cluster up, pytest "$@", cluster down - the down happens even when tests fail or the run
# is interrupted. Exits with pytest's exit code (or 1 when the cluster cannot start).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
now_ms() { date +%s%3N; }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

t_start=$(now_ms)

cluster_down() {
    echo "run-tests: stopping the cluster"
    "$PY" -m ops.cluster down || echo "run-tests: WARNING: 'python -m ops.cluster down' failed" >&2
}
finish() {
    local rc=$?
    trap - EXIT INT TERM
    cluster_down
    echo "run-tests: total $(secs $(($(now_ms) - t_start))) s, exit code $rc"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "run-tests: starting the local cluster (Kafka + Cassandra)"
t_up=$(now_ms)
if ! "$PY" -m ops.cluster up; then
    echo "run-tests: ERROR: the local cluster did not start (see the error above); no tests ran" >&2
    exit 1
fi
echo "run-tests: cluster start-up took $(secs $(($(now_ms) - t_up))) s"

export RDG_REQUIRE_CLUSTER=1
export RDG_KAFKA_BOOTSTRAP="127.0.0.1:${RDG_KAFKA_PORT:-9092}"
export RDG_CASSANDRA_HOSTS=127.0.0.1
export RDG_CASSANDRA_PORT="${RDG_CASSANDRA_PORT:-9042}"

# pytest runs in the background so that a TERM/INT sent to this script is acted on at once
# (bash defers traps while a foreground child runs); the trap asks pytest to stop (SIGINT:
# it reports and tears down fixtures), then the EXIT trap stops the cluster. `trap - INT`
# undoes the SIGINT-ignore that bash gives background jobs; fd 3 keeps stdin for --pdb.
exec 3<&0
( trap - INT; exec .venv/bin/pytest "$@" <&3 3<&- ) &
pytest_pid=$!
stop_pytest() {
    echo "run-tests: interrupted; stopping pytest (pid $pytest_pid)" >&2
    kill -INT "$pytest_pid" 2>/dev/null
    for _ in $(seq 1 150); do  # up to 15 s for pytest to finish its teardown
        kill -0 "$pytest_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pytest_pid" 2>/dev/null
    exit "$1"
}
trap 'stop_pytest 130' INT
trap 'stop_pytest 143' TERM
wait "$pytest_pid"
exit $?
