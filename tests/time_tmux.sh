#!/usr/bin/env bash
# Issue 24 items 4 and 6 in a real terminal, at 200×50 and 80×24: time in the filter language
# (`since=`, `until=`, `age`), and copy that arrives inside tmux. tmux runs with its default
# options (`set-clipboard external`, `allow-passthrough off`: OSC 52 from the pane goes nowhere),
# so `y` `⏎` must put the text in a tmux buffer and say so; with `set-clipboard on` tmux takes
# the OSC 52 itself; with no tmux to reach, the text lands in a private file.
#
# Usage: tests/time_tmux.sh            (builds nothing; set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start time

NAME=time
fail() { ui_fail "[$SIZE] $1"; }
step() { echo "time [$SIZE]: $*"; }
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})? +(in|out)[ ⇄]'

# Request rows on screen.
rows() { screen | grep -Ec -- "$ROW" || true; }

# Opens the filter prompt, emptied (it starts with the filter in force), and types $1.
prompt() {
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt"
    tm send-keys -t "$SESSION" C-u
    tm send-keys -t "$SESSION" -l "$1"
}

# Applies filter $1, which must validate; $2 is the pattern the status bar shows it as.
filter() {
    prompt "$1"
    wait_for " valid" "the filter to validate"
    tm send-keys -t "$SESSION" Enter
    wait_for "filter $2" "the active filter $1"
}

# Copies the selected request as curl (`y`, `⏎`) and waits for the popup to say $1.
copy_curl() {
    tm send-keys -t "$SESSION" y
    wait_for 'curl' "the copy menu"
    tm send-keys -t "$SESSION" Enter
    wait_for "$1" "the popup saying where the text went"
}

buffers() { tm list-buffers 2>/dev/null | wc -l; }

# meshtap in the pane, inside tmux: TMUX and TMUX_PANE are the pane's own ($2 replaces TMUX).
start_meshtap() {
    local tmux_var=${1:-\$TMUX}
    tm send-keys -t "$SESSION" "clear; cd '$WORK' && TMUX=$tmux_var '$BIN' demo --seed 1 2>'$WORK/stderr'; echo exit=\$?" Enter
    wait_for "$ROW" "request rows"
}

run_at() {
    SIZE=$1
    local cols=${1%x*} rows=${1#*x}
    tm kill-server >/dev/null 2>&1 || true
    SOCKET="meshtap-time-$$-$SIZE"
    # No user config: tmux's defaults, which is what the copy test is about. The shell keeps
    # TMUX and TMUX_PANE (env -i drops everything else).
    tm -f /dev/null new-session -d -s "$SESSION" -x "$cols" -y "$rows" \
        "env -i HOME=$WORK PATH=$PATH TERM=xterm-256color TMUX=\"\$TMUX\" TMUX_PANE=\"\$TMUX_PANE\" XDG_CONFIG_HOME=$WORK/config PS1='e2e\$ ' bash --noprofile --norc"
    tm set-option -g status off >/dev/null
    tm set-option -g escape-time 0 >/dev/null
    wait_for '^e2e\$' "the shell prompt"
    [[ $(tm show -gv set-clipboard) == external && $(tm show -gv allow-passthrough) == off ]] ||
        fail "tmux does not run with its default clipboard options"

    start_meshtap

    step "item 4: since=-1m keeps the live rows, until=-1h keeps none, age<10m all"
    filter 'since=-1m' 'since=-1m'
    wait_for "$ROW" "rows started in the last minute"
    filter 'until=-1h' 'until=-1h'
    wait_gone "$ROW" "every row (none started an hour before the demo)"
    filter 'age>=1h or age<10m' 'age>=1h or age<10m'
    wait_for "$ROW" "the rows again"
    prompt 'since=noon'
    tm send-keys -t "$SESSION" Enter
    # At 80 columns the prompt has no room for the message (it is refused all the same).
    if ((cols >= 120)); then
        wait_for 'expected a time like' "the parse error of a bad time"
    fi
    # Each Escape is waited out: Escape and the next key sent together read as Alt+key.
    tm send-keys -t "$SESSION" Escape
    wait_gone '^/since=noon' "the prompt"
    tm send-keys -t "$SESSION" c
    wait_gone '│ filter ' "the filter"

    step "item 6: tmux's defaults: y ⏎ fills a tmux buffer and says how to reach the clipboard"
    tm delete-buffer >/dev/null 2>&1 || true
    ((10#$(buffers) == 0)) || tm delete-buffer -b "$(tm list-buffers -F '#{buffer_name}' | head -n 1)"
    copy_curl 'copied to a tmux buffer'
    wait_for 'set-clipboard on' "the hint to enable the clipboard"
    tm show-buffer | grep -q '^curl ' || fail "the tmux buffer does not hold the curl command: $(tm show-buffer | head -c 200)"
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Copied as' "the popup"

    step "item 6: set-clipboard on: tmux takes meshtap's OSC 52 into a buffer itself"
    tm set-option -g set-clipboard on
    local before
    before=$(buffers)
    copy_curl 'clipboard \(set-clipboard on\)'
    local deadline=$((SECONDS + TIMEOUT))
    until (($(buffers) > before)); do
        ((SECONDS < deadline)) || fail "tmux made no buffer from the OSC 52 sequence"
        sleep 0.2
    done
    tm show-buffer | grep -q '^curl ' || fail "tmux's buffer is not the curl command"
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Copied as' "the popup"
    tm set-option -g set-clipboard external

    step "item 6: allow-passthrough on: a buffer, and the sequence passes through"
    tm set-option -g allow-passthrough on
    copy_curl 'clipboard \(passthrough\)'
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Copied as' "the popup"
    tm set-option -g allow-passthrough off

    tm send-keys -t "$SESSION" q
    wait_for '^exit=0$' "meshtap to exit with status 0"

    if [[ $SIZE == 200x50 ]]; then
        step "item 6: no tmux to reach: a private file, and the popup names it"
        start_meshtap /nonexistent/meshtap-no-tmux,1,0
        copy_curl 'copied to /[^ ]*copied.txt'
        local file
        file=$(screen | grep -Eo '/[^ │]*meshtap-copy-[^ │/]*/copied\.txt' | head -n 1)
        [[ -n $file && -f $file ]] || fail "the file named in the popup is missing ($file)"
        [[ $(stat -c %a "$file") == 600 ]] || fail "$file is not 0600"
        grep -q '^curl ' "$file" || fail "$file does not hold the curl command"
        rm -rf "$(dirname "$file")"
        tm send-keys -t "$SESSION" Escape
        wait_gone 'Copied as' "the popup"
        tm send-keys -t "$SESSION" q
        wait_for '^exit=0$' "meshtap to exit with status 0"
    fi
}

run_at 200x50
run_at 80x24
echo "time: PASS"
