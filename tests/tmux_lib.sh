# Shared by the tmux-driven tests (sourced, not run): a private tmux server and bounded waits on
# what the screen shows. The caller sets SOCKET, SESSION and TIMEOUT and defines `fail MESSAGE`.

tm() { tmux -L "$SOCKET" "$@"; }

screen() { tm capture-pane -p -t "$SESSION"; }

# Waits until the screen matches the extended regex $1; $2 says what we were waiting for.
wait_for() {
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if screen | grep -Eq -- "$1"; then
            return 0
        fi
        sleep 0.2
    done
    fail "timed out after ${TIMEOUT}s waiting for $2 (/$1/)"
}

# Waits until the screen no longer matches $1.
wait_gone() {
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! screen | grep -Eq -- "$1"; then
            return 0
        fi
        sleep 0.2
    done
    fail "timed out after ${TIMEOUT}s waiting for $2 to go (/$1/)"
}

# Starts test NAME: sets BIN, TIMEOUT, SOCKET, SESSION and WORK, cleans up on exit, and stops at
# once without tmux or the binary. ROOT must be set first.
tmux_test_start() {
    local name=$1
    BIN=${MESHTAP_BIN:-$ROOT/target/debug/meshtap}
    TIMEOUT=${E2E_TIMEOUT:-30}
    SOCKET="meshtap-$name-$$"
    SESSION=$name
    WORK=$(mktemp -d)
    trap tmux_test_cleanup EXIT
    command -v tmux >/dev/null || { echo "$name: tmux is not installed" >&2; exit 1; }
    [[ -x $BIN ]] || { echo "$name: $BIN is missing; run cargo build first" >&2; exit 1; }
}

tmux_test_cleanup() {
    tm kill-server >/dev/null 2>&1 || true
    # The killed program may still be writing in WORK for a moment.
    rm -rf "$WORK" 2>/dev/null || { sleep 1; rm -rf "$WORK" 2>/dev/null; } || true
}
