#!/usr/bin/env bash
# Run QuantConnect's official `lean` CLI, unchanged, against qcloop's API v2 emulator, offline.
#
#   scripts/lean_cli_conformance.sh            # everything in a temporary folder, removed afterwards
#   KEEP=1 scripts/lean_cli_conformance.sh     # keep the folder (its path is printed) to look around
#
# Scenario: `lean login`, `lean cloud push` of a project, `lean cloud pull` of it into an empty
# folder (the files must come back byte for byte), `lean cloud backtest` showing the statistics
# table, and finally every reply the CLI parsed is validated again with the CLI's own pydantic models
# (lean.models.api). The lean CLI can only talk to http://localhost:5612/api/v2/ (QC_API=local), so
# port 5612 must be free.
#
# Environment: LEAN_VENV (default /tmp/leanvenv; created with `pip install lean` when missing),
# QCLOOP (default .venv/bin/qcloop of this repository), QCLOOP_LEAN_DATA (default ../shared/data/lean).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QCLOOP="${QCLOOP:-$REPO/.venv/bin/qcloop}"
LEAN_VENV="${LEAN_VENV:-/tmp/leanvenv}"
DATA="${QCLOOP_LEAN_DATA:-$REPO/../shared/data/lean}"
PORT=5612
WORK="$(mktemp -d -t qcloop-lean-conformance.XXXXXX)"
EMULATOR_PID=""

say() { printf '\n== %s\n' "$*"; }
fail() { printf '\nFAIL: %s\n' "$*" >&2; [ -f "$WORK/emulator.log" ] && tail -20 "$WORK/emulator.log" >&2; exit 1; }

cleanup() {
    if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill -TERM "$EMULATOR_PID" 2>/dev/null || true  # a background job ignores SIGINT
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = "1" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

[ -x "$QCLOOP" ] || fail "no qcloop at $QCLOOP (install the repository: python -m venv .venv && .venv/bin/pip install -e '.[dev]')"
[ -f "$DATA/equity/usa/daily/spy.zip" ] || fail "no LEAN data at $DATA (set QCLOOP_LEAN_DATA)"

say "the lean CLI in $LEAN_VENV"
if [ ! -x "$LEAN_VENV/bin/lean" ]; then
    python3 -m venv "$LEAN_VENV"
    "$LEAN_VENV/bin/pip" install --quiet lean
fi
"$LEAN_VENV/bin/pip" show lean | grep -E '^(Name|Version)'
# The CLI downloads a modules list at import; offline, an empty list (fresh mtime) lets it start.
LEAN_PACKAGE="$("$LEAN_VENV/bin/python" -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("lean").origin).parent)')"
MODULES="$LEAN_PACKAGE/modules-1.14.json"
if [ ! -f "$MODULES" ] || [ -n "$(find "$MODULES" -mmin +1380 2>/dev/null)" ]; then
    echo '{"modules": []}' > "$MODULES"
fi

say "the emulator on 127.0.0.1:$PORT"
if "$LEAN_VENV/bin/python" -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1', $PORT)) == 0 else 1)"; then
    fail "port $PORT is in use: stop what listens there (the lean CLI only knows http://localhost:$PORT)"
fi
USER_ID=271828
TOKEN="$("$LEAN_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))')"
"$QCLOOP" emulator serve --port "$PORT" --data-folder "$DATA" --state-dir "$WORK/state" \
    --user-id "$USER_ID" --token "$TOKEN" > "$WORK/emulator.log" 2>&1 &
EMULATOR_PID=$!
for _ in $(seq 1 100); do
    grep -q "QuantConnect API v2 at" "$WORK/emulator.log" 2>/dev/null && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || fail "the emulator did not start"
    sleep 0.1
done
ORG="$(sed -n 's/.*organization id: \([0-9a-f]*\).*/\1/p' "$WORK/emulator.log" | head -1)"
[ -n "$ORG" ] || fail "the emulator did not print its organization id"
grep -q "$TOKEN" "$WORK/emulator.log" && fail "the emulator printed the token it was given"
echo "user $USER_ID, organization $ORG"

export HOME="$WORK/home" QC_API=local COLUMNS=160
mkdir -p "$HOME" "$WORK/cli/data"
cd "$WORK/cli"
LEAN="$LEAN_VENV/bin/lean"

say "lean login"
"$LEAN" login -u "$USER_ID" -t "$TOKEN" | tee "$WORK/login.txt"
grep -q "Successfully logged in" "$WORK/login.txt" || fail "lean login"

# A CLI root folder: organization-id, and a fresh database timestamp so nothing is downloaded.
cat > lean.json <<EOF
{"data-folder": "data", "organization-id": "$ORG", "file-database-last-update": "$(date -u +'%m/%d/%Y %H:%M:%S')"}
EOF
PROJECT="Conformance Project"
mkdir -p "$PROJECT/signals"
cat > "$PROJECT/main.py" <<'EOF'
# region imports
from AlgorithmImports import *

from signals.trend import above_average
# endregion


class ConformanceAlgorithm(QCAlgorithm):
    """Holds SPY while its close is above its 20-day average; flat otherwise."""

    def initialize(self) -> None:
        self.set_start_date(2020, 1, 1)
        self.set_end_date(2020, 6, 30)
        self.set_cash(100000)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol
        self.average = self.sma(self.spy, int(self.get_parameter("period", 20)), Resolution.DAILY)

    def on_data(self, data: Slice) -> None:
        if not self.average.is_ready or self.spy not in data.bars:
            return
        wanted = above_average(data.bars[self.spy].close, self.average.current.value)
        if wanted and not self.portfolio.invested:
            self.set_holdings(self.spy, 1)
        elif not wanted and self.portfolio.invested:
            self.liquidate(self.spy)
EOF
cat > "$PROJECT/signals/trend.py" <<'EOF'
def above_average(price: float, average: float) -> bool:
    return price > average
EOF
cat > "$PROJECT/config.json" <<'EOF'
{"algorithm-language": "Python", "parameters": {"period": "20"}, "description": "lean CLI conformance"}
EOF
cp -r "$PROJECT" "$WORK/original"

say "lean cloud push"
"$LEAN" cloud push --project "$PROJECT" | tee "$WORK/push.txt"
grep -q "Successfully created cloud project '$PROJECT'" "$WORK/push.txt" || fail "lean cloud push did not create the project"

say "lean cloud pull (into an empty folder)"
rm -rf "$PROJECT"
"$LEAN" cloud pull --project "$PROJECT" | tee "$WORK/pull.txt"
for file in main.py signals/trend.py; do
    cmp "$WORK/original/$file" "$PROJECT/$file" || fail "pulled $file differs from the pushed one"
done
grep -q '"period": "20"' "$PROJECT/config.json" || fail "the project parameters did not come back"
echo "pulled files are identical to the pushed ones"

say "lean cloud backtest"
"$LEAN" cloud backtest "$PROJECT" --name "conformance run" | tee "$WORK/backtest.txt"
for statistic in "Total Orders" "Sharpe Ratio" "Net Profit" "Equity"; do
    grep -q "$statistic" "$WORK/backtest.txt" || fail "the statistics table lacks '$statistic'"
done
grep -q "An error occurred" "$WORK/backtest.txt" && fail "the backtest failed"

say "the emulator's replies against lean-cli's own response models"
LEAN_VALIDATE_ORG="$ORG" LEAN_VALIDATE_USER="$USER_ID" LEAN_VALIDATE_TOKEN="$TOKEN" \
    "$LEAN_VENV/bin/python" "$REPO/scripts/lean_cli_conformance_models.py" "$PROJECT"

say "PASS: lean login, cloud push, cloud pull and cloud backtest work against the emulator"
