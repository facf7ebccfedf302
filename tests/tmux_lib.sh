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
