#!/usr/bin/env bash
# The full Table 1 comparison (benchmarks/table1.py) on one GPU machine, as parallel processes that share
# the GPU: the models used here leave a single process host-bound, so many fit at once.
#
#   [ROWS=baselines] [SEARCH=folder] bash benchmarks/table1_gpu.sh [OUT] [MINUTES]
#
# ROWS=baselines: only the rows slow on a CPU (RecBole's models, ID, authors' recipe, text+ID). Every row runs
# under a time budget, so the script ends in about MINUTES (default 7) plus the tests. Phase 1: the SRT-1K
# search on Beauty's validation split and every row; phase 2: the search's best setting, 3 seeds, both datasets.
# table1.py refuses to pool a seed into a row of OUT whose seeds ran with other settings (another time budget, say):
# to measure again rows that OUT holds, give a fresh OUT and compare the two files.
set -u
OUT=${1:-benchmarks/results}
MIN=${2:-7}
ROWS=${ROWS:-all}
LOGS=saved/table1-logs  # git-ignored
SEARCH=${SEARCH:-$OUT/search}  # finished trials found there are not trained again
mkdir -p "$LOGS" "$SEARCH"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
SEEDS=(2020 2021 2022)
budget() { python3 -c "print(round($MIN * $1, 2))"; }  # a share of MINUTES
row() {  # row LOG ARGS...: one benchmarks/table1.py process, merged into $OUT/<dataset>.json
    local log=$1; shift
    python3 benchmarks/table1.py --out "$OUT" --threads 1 --merge "$@" > "$LOGS/$log.log" 2>&1 &
}

[ "$ROWS" = all ] && python3 -m recbole_srt.search --model SRT --dataset beauty --data_path saved/data \
    --results "$SEARCH/beauty-srt1k.jsonl" --set "eval_args={'mode':'full'}" --set num_negatives=1000 \
    --set time_budget="$(python3 -c "print(int($MIN * 60 * 0.45))")" --space learning_rate=3e-4,1e-3,3e-3 \
    --space hidden_dropout_prob+attn_dropout_prob=0.2,0.5 --space inner_size=64,256 --space tau=0.5,1.0 \
    --space epochs=10,20 --trials 6 --seed 0 --jobs 6 > "$LOGS/search-beauty.log" 2>&1 &
search=$!
[ "$ROWS" = all ] || search=

for d in beauty sports; do
    if [ "$ROWS" = all ]; then
        row "$d-srt-small" --dataset "$d" --models SRT-10,SRT-100,SRT-300 --time_budget "$(budget 0.28)"
        row "$d-srt1k" --dataset "$d" --models SRT-1K --seeds 2020,2021,2022 --time_budget "$(budget 0.28)"
    fi
    row "$d-extra" --dataset "$d" --models MostPop,SRT-1K-text+id,SRT-1K-id,SRT-1K-authors --time_budget "$(budget 0.4)"
    row "$d-idsasrec" --dataset "$d" --models ID-SASRec-CE --seeds 2020,2021,2022 --time_budget "$(budget 0.22)"
    for s in "${SEEDS[@]}"; do
        row "$d-sasrec-ce-$s" --dataset "$d" --models SASRec-CE --seeds "$s" --time_budget "$(budget 0.85)"
    done
    row "$d-sasrec" --dataset "$d" --models SASRec --time_budget "$(budget 0.85)"
    row "$d-bert4rec" --dataset "$d" --models BERT4Rec --time_budget "$(budget 0.85)"
done

[ -n "$search" ] && wait "$search"
if [ "$ROWS" = all ] && [ -s "$SEARCH/beauty-srt1k.best.json" ]; then
    for d in beauty sports; do
        for s in "${SEEDS[@]}"; do
            row "$d-tuned-$s" --dataset "$d" --models SRT-1K --tuned "$SEARCH/beauty-srt1k.best.json" \
                --suffix tuned --seeds "$s" --time_budget "$(budget 0.3)"
        done
    done
fi
wait
ls -l "$OUT"
