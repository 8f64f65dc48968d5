#!/usr/bin/env bash
# The GPU check: one command, run from the repository root on a bare GPU machine with the kit
# (tools/gpu/gpu_kit.sh) beside the tree. Every step is time-boxed, so one failure leaves time for
# the rest; the whole stays under BUDGET_S seconds (default 530: 9 minutes with the set-up).
#
#   bash tools/gpu/gpu_check.sh                 (make gpu-check)
#   REHEARSAL=1 bash tools/gpu/gpu_check.sh     the same on a CPU, GPU-only steps skipped and the
#                                           trainings at a small size (make gpu-rehearsal)
#
# Writes $OUT/gpu_check.json (the machine, each step's status and seconds, the figures and the
# goals they meet or miss) and $OUT/gpu_check.log; OUT defaults to runs/bench/gpu-check.
# Environment: OUT, KIT (default gpu-kit), GPU_PYTHON (default python3: the machine's Python
# 3.12 with numpy, scipy, scikit-image, h5py, OpenCV, CuPy), BUDGET_S, GPU (default 0).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export OUT=${OUT:-$ROOT/runs/bench/gpu-check}
export KIT=${KIT:-$ROOT/gpu-kit} REHEARSAL=${REHEARSAL:-0} GPU=${GPU:-0}
export GPU_PYTHON=${GPU_PYTHON:-python3}
BUDGET_S=${BUDGET_S:-530}
export JOBS=$(nproc)

# ---- one step, run as `gpu_check.sh --step NAME` under a time limit -------------------------
run_step() {
  case $1 in
  machine)
    "$GPU_PYTHON" tools/gpu/gpu_facts.py >"$WORK/machine.json" && cat "$WORK/machine.json" ;;
  kit)
    (cd "$KIT" && sha256sum -c two-stream-kit.tar.xz.sha256) || return
    tar -C "$WORK" -xJf "$KIT/two-stream-kit.tar.xz" || return
    (cd "$WORK/two-stream-kit" && sha256sum -c --quiet MANIFEST.sha256) || return
    "$GPU_PYTHON" -m pip install -q --no-index --no-deps --target "$WORK/site" \
      "$WORK"/two-stream-kit/wheels/*.whl || return
    write_env ""
    if ! "$ENV_DIR/bin/python" -c 'import caffe' 2>"$WORK/import.err"; then
      cat "$WORK/import.err"
      # An older system libstdc++ than the kit's: take the kit's (recorded in the JSON).
      grep -q 'GLIBCXX\|CXXABI' "$WORK/import.err" || return 1
      echo "gpu_check: the system's libstdc++ is older than the kit's; using the kit's"
      write_env "$WORK/two-stream-kit/fallback" && touch "$WORK/libstdcxx-fallback"
    fi
    "$ENV_DIR/bin/python" -c 'import caffe, lmdb, numpy, cv2
print("pycaffe", caffe.__file__, "lmdb", lmdb.__version__, "numpy", numpy.__version__,
      "cv2", cv2.__version__)' ;;
  check_gpu)
    if [[ $REHEARSAL == 1 ]]; then
      "$ENV_DIR/bin/python" tools/gpu/check_gpu.py --gpu -1 --width 0.25 --batch 2 --out "$WORK/check_gpu.json"
    else
      "$ENV_DIR/bin/python" tools/gpu/check_gpu.py --gpu "$GPU" --width 1 --batch 8 --out "$WORK/check_gpu.json"
    fi ;;
  store)
    # The synthetic UCF-101-like set, its flow stored at the paper's 256-pixel short side.
    $MAKE_KIT synthetic SYNTHETIC="$WORK/synthetic" ARGS="--ucf-clips-per-group 1 --hmdb-clips-per-class 3" || return
    $MAKE_KIT flow DATASET=ucf101 ROOT="$WORK/synthetic/ucf101" OUT="$WORK/store" JOBS="$JOBS" \
      ARGS="--quiet $([[ $REHEARSAL == 1 ]] && echo --short-side 64)" ;;
  train)
    train_resume_eval ;;
  bench)
    if [[ $REHEARSAL == 1 ]]; then
      "$ENV_DIR/bin/python" tools/gpu/bench_gpu.py --gpu -1 --store "$WORK/store" --batch 4 \
        --width 0.25 --input-size 48 --iters 2 --videos 1 --out "$WORK/bench_gpu.json"
    else
      "$ENV_DIR/bin/python" tools/gpu/bench_gpu.py --gpu "$GPU" --store "$WORK/store" \
        --workers "$((JOBS - 2))" --out "$WORK/bench_gpu.json"
    fi ;;
  brox)
    if [[ $REHEARSAL == 1 ]]; then
      "$ENV_DIR/bin/python" tools/bench/bench_brox_gpu.py --backend numpy --batches 1 --repeats 1 --no-pipeline
    else
      "$ENV_DIR/bin/python" tools/bench/bench_brox_gpu.py --batches 1 32 128 --no-pipeline
    fi && cp runs/bench/brox_gpu.json "$WORK/brox_gpu.json" ;;
  classify)
    "$ENV_DIR/bin/python" tools/bench/bench_classify.py $([[ $REHEARSAL == 1 ]] || echo --gpu "$GPU") \
      && cp runs/bench/classify.json "$WORK/classify.json" ;;
  *) echo "gpu_check: no step $1"; return 2 ;;
  esac
}

write_env() {  # fallback-folder-or-empty: the kit's Python, as a venv's bin/python would be
  local cuda
  cuda=$("$GPU_PYTHON" tools/gpu/gpu_facts.py --cuda-libs) || return
  mkdir -p "$ENV_DIR/bin"
  cat >"$ENV_DIR/bin/python" <<EOF
#!/bin/sh
# The GPU kit's pycaffe on this machine's Python (written by tools/gpu/gpu_check.sh).
export PYTHONPATH="$WORK/two-stream-kit/python:$WORK/site:$ROOT:$WORK/two-stream-kit/data\${PYTHONPATH:+:\$PYTHONPATH}"
export LD_LIBRARY_PATH="$WORK/two-stream-kit/lib:$cuda${1:+:$1}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export GLOG_minloglevel=\${GLOG_minloglevel:-1}
exec "$(command -v "$GPU_PYTHON")" "\$@"
EOF
  chmod +x "$ENV_DIR/bin/python"
}

# make train-temporal as a user runs it: killed after its first snapshot, resumed, then tested.
train_resume_eval() {
  local common gpus gpu size
  local iters=100 every=50
  if [[ $REHEARSAL == 1 ]]; then
    iters=300 every=20
    # What the real check trains, the default initialisation included; only sizes shrink.
    gpus="" gpu="" size="--width 0.25 --input-size 48 --batch-size 8 --test-iter 1"
  else
    gpus="GPUS=$GPU" gpu="GPU=$GPU" size="--workers $((JOBS - 2)) --test-iter 2"
  fi
  common="ITERS=$iters"
  size+=" --snapshot-every $every --test-interval $iters --display 10"
  local args="--runs $WORK/runs --store ucf101=$WORK/store $size"
  setsid $MAKE_KIT train-temporal $gpus $common ARGS="$args" &
  local pid=$! snaps
  # A snapshot counts once marked whole (models/train/run_record.py: *.complete).
  until ls "$WORK"/runs/ucf101/*/snapshots/*.complete >/dev/null 2>&1 || ! kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
  done
  kill -- -"$pid" 2>/dev/null; wait "$pid"
  snaps=$(dirname "$(ls "$WORK"/runs/ucf101/*/snapshots/*.complete 2>/dev/null | head -n 1)")
  [[ "$snaps" == */snapshots ]] || { echo "gpu_check: the training wrote no snapshot"; return 1; }
  local killed_at; killed_at=$(last_snapshot "$snaps")
  ((killed_at < iters)) || { echo "gpu_check: the training ended before it was killed; nothing to resume"; return 1; }
  echo "gpu_check: killed after iteration $killed_at's snapshot; resuming"
  $MAKE_KIT train-temporal $gpus $common RESUME=1 ARGS="$args" || return
  (($(last_snapshot "$snaps") == iters)) || { echo "gpu_check: the resumed run did not reach $iters"; return 1; }
  echo "gpu_check: resumed from $killed_at to $iters"
  $MAKE_KIT score-temporal $gpu ARGS="--runs $WORK/runs --out $WORK/scores --quiet"
}

last_snapshot() {  # snapshots folder: the iteration of its last whole snapshot
  ls "$1" | sed -n 's/.*_iter_\([0-9]*\)\.complete$/\1/p' | sort -n | tail -n 1
}

if [[ "${1:-}" == --step ]]; then run_step "$2"; exit; fi

# ---- the steps, in order, each within its limit and the time left ----------------------------
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))
has_gpu() { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }
if [[ $REHEARSAL != 1 ]] && ! has_gpu; then
  echo "gpu_check: nvidia-smi finds no GPU here; on a machine without one, run make gpu-rehearsal." >&2
  exit 2
fi
[[ -f "$KIT/two-stream-kit.tar.xz" ]] \
  || { echo "gpu_check: no kit at $KIT; build it with make gpu-kit (on a Debian machine) first." >&2; exit 2; }
export WORK=${WORK:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
export LOG=$OUT/gpu_check.log STEPS=$WORK/steps.jsonl ENV_DIR=$WORK/env
# Make with the kit's environment in place of the project's set-up (Makefile: SETUP=0).
# (The check's own OUT and GPU must not reach make, whose targets read variables of those names.)
export MAKE_KIT="env -u OUT -u GPU make --no-print-directory VENV=$ENV_DIR SETUP=0"
mkdir -p "$OUT" && : >"$LOG" && : >"$STEPS"
say() { echo "gpu_check: $*" | tee -a "$LOG"; }
step() {  # name limit: the step, or why it did not run
  local name=$1 limit=$2 left rc t0
  ((REHEARSAL == 1)) && limit=$((limit * 3))  # the CPU variants take longer on 2 cores
  left=$((DEADLINE - $(date +%s) - 20))  # 20 s kept for the summary
  ((limit > left)) && limit=$left
  if ((limit < 5)); then record "$name" skipped 0 0 "no time left in the budget"; return; fi
  say "$name (at most ${limit} s)"
  t0=$(date +%s%N)
  timeout -k 10 "$limit" bash "$0" --step "$name" >>"$LOG" 2>&1
  rc=$?
  local s; s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  case $rc in
    0) record "$name" ok "$rc" "$s" "" ;;
    124|137) record "$name" "timed out" "$rc" "$s" "its ${limit} s limit" ;;
    *) record "$name" failed "$rc" "$s" "$(tail -n 5 "$LOG" | tr -d '"\\' | tr '\n' ' ' | cut -c1-400)" ;;
  esac
  say "$name: $(tail -n 1 "$STEPS")"
}
record() {  # name status rc seconds why
  printf '{"step": "%s", "status": "%s", "rc": %s, "seconds": %.1f, "why": "%s"}\n' \
    "$1" "$2" "$3" "$4" "$5" >>"$STEPS"
}

say "work folder $WORK; kit $KIT; $([[ $REHEARSAL == 1 ]] && echo rehearsal on the CPU || echo GPU $GPU)"
step machine 20
step kit 60
if ! grep -q '"step": "kit", "status": "ok"' "$STEPS"; then
  say "the kit did not install: every later step needs it"
else
  step check_gpu 90
  step store 60
  step train 180
  step bench 100
  step brox 60
  step classify 60
fi
"$GPU_PYTHON" tools/gpu/gpu_facts.py --summary "$WORK" "$REHEARSAL" >"$OUT/gpu_check.json" \
  || say "the summary failed; the steps are in $STEPS"
say "done in $(($(date +%s) - START)) s: $OUT/gpu_check.json"
grep -c '"status": "ok"' "$STEPS" | xargs -I{} echo "gpu_check: {} of $(wc -l <"$STEPS") steps ok" | tee -a "$LOG"
! grep -q '"status": "\(failed\|timed out\)"' "$STEPS"
