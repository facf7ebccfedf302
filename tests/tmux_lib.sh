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

# Whether the screen matches $2 within $1 seconds (no failure: for steps a caller may retry).
seen_within() {
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        if screen | grep -Eq -- "$2"; then
            return 0
        fi
        sleep 0.2
    done
    return 1
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

# The pieces the UI end-to-end tests share (e2e_tmux.sh, e2e_clusters_tmux.sh); NAME is the
# prefix of their messages, and meshtap's stderr goes to $WORK/stderr.
ui_fail() {
    echo "$NAME: FAIL: $1" >&2
    echo "----- screen -----" >&2
    screen >&2 || true
    echo "----- meshtap stderr -----" >&2
    cat "$WORK/stderr" >&2 2>/dev/null || true
    exit 1
}

# A bare shell with no user config, no status line, so the window is exactly 160×48.
ui_shell_start() {
    tm -f /dev/null new-session -d -s "$SESSION" -x 160 -y 48 \
        "env -i HOME=$WORK PATH=$PATH TERM=xterm-256color XDG_CONFIG_HOME=$WORK/config PS1='e2e\$ ' bash --noprofile --norc"
    tm set-option -g status off >/dev/null
    # Pass Esc through at once instead of waiting to see if it starts an Alt sequence.
    tm set-option -g escape-time 0 >/dev/null
    wait_for '^e2e\$' "the shell prompt"
}

# Types the filter $1 at the / prompt (it must validate) and waits for the status bar to show
# it active. $1 is matched as a regex: keep it free of regex metacharacters.
ui_filter() {
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt"
    tm send-keys -t "$SESSION" -l "$1"
    wait_for "^/$1 +valid" "the filter to validate"
    tm send-keys -t "$SESSION" Enter
    wait_for "filter $1" "the active filter in the status bar"
}

# Quits with q (meshtap must exit 0) and checks the shell is usable: cooked mode, main screen.
ui_quit_to_shell() {
    tm send-keys -t "$SESSION" q
    wait_for '^exit=0$' "meshtap to exit with status 0"
    tm send-keys -t "$SESSION" "stty -a | tr ' ;' '\\n\\n' | grep -qx icanon && echo cooked-\$((6*7))" Enter
    wait_for '^cooked-42$' "a cooked-mode terminal"
    tm send-keys -t "$SESSION" "echo done-\$((40+2))" Enter
    wait_for '^done-42$' "the shell to answer"
}
