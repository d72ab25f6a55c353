#!/bin/bash
# kill -9 in the middle of a training stage, then the same command again (issue 13's resume check).
# Runs the default optimize restricted to pruning chains (prune-structured → recover) into OUT, kills
# the whole process group 20 s after the recover stage's first checkpoint appears, reruns, and prints
# each candidate's stage times: the rerun must show the stage cache (`cached`) and `resumedFromStep > 0`.
# Usage: scripts/kill-resume-demo.sh [out-dir]   (about 10 minutes on 2 vCPUs)
set -u
OUT=${1:-runs/kill-resume-demo}
cd "$(dirname "$0")/.."
rm -rf "$OUT"
setsid npx edgefit optimize --passes prune-structured --time-limit 15m --out "$OUT" > "$OUT.first.log" 2>&1 &
PGID=$!
for _ in $(seq 1 900); do
  sleep 2
  if ls "$OUT"/stages/*.ckpt/state.bin > /dev/null 2>&1; then
    sleep 20
    echo "kill -9 at $(date +%T) with a checkpoint in $(ls -d "$OUT"/stages/*.ckpt)"
    kill -9 -- "-$PGID"
    break
  fi
done
sleep 2
echo "rerun at $(date +%T)"
npx edgefit optimize --passes prune-structured --time-limit 15m --out "$OUT" > "$OUT.second.log" 2>&1
echo "rerun exit $? at $(date +%T)"
node -e '
const fs = require("node:fs"), path = require("node:path");
const dir = path.join(process.argv[1], "candidates");
for (const id of fs.readdirSync(dir)) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, id, "result.json"), "utf8"));
  const st = (r.stageTimes ?? []).map((t) => `${t.stage} ${(t.wallMs / 1000).toFixed(1)} s${t.cached ? " cached" : ""}${t.resumedFromStep ? ` resumed@${t.resumedFromStep}` : ""}`);
  console.log(`${r.config.label}: ${st.join(", ") || "(source)"}`);
}' "$OUT"
grep -h "reused" "$OUT.second.log" "$OUT/summary.json" 2>/dev/null | head -3
