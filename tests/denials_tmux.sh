#!/usr/bin/env bash
# Denials told in the real terminal UI (issue 22 item 5): `meshtap demo deploy/orders -n
# sock-shop` on a busy demo, filtered to `status=403`, shows orders' bare 403s to payment; the
# explain key (i) on one says what tap cannot know and, once the session has read payment's
# proxies' refusal counters twice (every 10 s), what payment's proxy counted: its Server
# payment-http and route payment-refunds, since meshtap started. q exits 0.
#
# Usage: tests/denials_tmux.sh     (set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private to this
# run and is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start denials

NAME=denials
fail() { ui_fail "$1"; }
step() { echo "denials: $*"; }

ui_shell_start

step "start meshtap demo on orders, busy enough for refunds"
tm send-keys -t "$SESSION" "cd '$WORK' && '$BIN' demo deploy/orders -n sock-shop --rate 2000 2>'$WORK/stderr'; echo exit=\$?" Enter
wait_for 'connected' "the tap to connect"

step "filter to the refusals: orders' bare 403s to payment"
ui_filter 'status=403'
wait_for 'sock-shop/orders → sock-shop/payment.*/paymentRefund +403' "a refused refund in the list"

step "explain (i) the selected refusal"
tm send-keys -t "$SESSION" i
wait_for 'Explain request' "the explain view"
wait_for 'cause is unknown from tap alone' "what tap alone cannot know"
# The counters are read every 10 s; the refusal is covered from the second reading on.
wait_for "payment's proxy refused [0-9]+ requests? from this client since meshtap" "what payment's proxy counted"
wait_for 'payment-http' "the Server that refused"
wait_for 'payment-refunds' "the route it refused on"
tm send-keys -t "$SESSION" Escape
wait_gone 'Explain request' "the explain view"

ui_quit_to_shell
echo "denials: explain on orders' 403 names what payment's proxy counted: ok"
