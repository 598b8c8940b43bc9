#!/bin/sh
# SPDX-License-Identifier: MIT
# Throughput of `pollen run` over a capture of 64-byte packets (1,000,000 by default): the
# empty program (the hook's own cost per packet) and a small filter (bench/bpf/xdp_bench.bpf.c),
# on the interpreter and the JIT, each run REPS times; prints the median packets per second of
# the program runs alone and of the whole loop (reading the capture included).
#   bench/xdp_throughput.sh [BUILD_DIR] [PACKETS] [REPS]
set -eu
build=${1:-build}
packets=${2:-1000000}
reps=${3:-5}
pollen="$build/tools/pollen/pollen"
capture="$build/bench/bench-64b-$packets.pcap"
[ -f "$capture" ] || "$build/tools/pcapgen/pollen-pcapgen" --out "$capture" --packets "$packets" --fixed-size 64 --seed 7

# The median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# The value of "key": N in section "section" of pollen run's JSON.
field() { tr -d ' \n' | sed -n "s/.*\"$1\":{[^}]*\"packets_per_second\":\([0-9.e+]*\).*/\1/p"; }

printf '%-12s %-12s %16s %16s\n' program engine "run pkts/s" "loop pkts/s"
for program in xdp_empty xdp_filter; do
  for engine in interp jit; do
    runs="" loops=""
    for _ in $(seq "$reps"); do
      out=$("$pollen" run "$build/bench/bench_xdp_programs.o" --program "$program" \
        --pcap "$capture" --engine "$engine" --json)
      runs="$runs $(echo "$out" | field run)"
      loops="$loops $(echo "$out" | field loop)"
    done
    printf '%-12s %-12s %16.0f %16.0f\n' "$program" "$engine" \
      "$(echo "$runs" | tr ' ' '\n' | grep . | median)" \
      "$(echo "$loops" | tr ' ' '\n' | grep . | median)"
  done
done
