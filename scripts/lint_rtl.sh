#!/usr/bin/env bash
# RTL lint, run by `make lint`:
#   1. verilator --lint-only -Wall on every module (the test wrappers with --timing), and on every
#      DUT with each parameter set of the cocotb regression;
#   2. Yosys: synthesize every synthesizable module (defaults and every parameter set), then
#      `check -assert` and fail on any inferred latch; an illegal parameter must stop elaboration;
#   3. pyverilog: parse every file and check the stream port naming (slugsim.testbench.hdl).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
INC=(-Irtl/include -Irtl/emc -Irtl/coherence -Irtl/ats)
LIBS=(-y rtl/common -y rtl/emc -y rtl/coherence -y rtl/ats)
SYNTH=(rtl/common/*.v rtl/emc/*.v rtl/coherence/*.v rtl/ats/*.v)
WRAPPERS=(rtl/tb/*.v)
LATCHES='t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_* t:$_SR_*'
fail=0
say() { printf '%s\n' "$*"; }

say "lint_rtl: verilator -Wall"
for f in "${SYNTH[@]}"; do
    verilator --lint-only -Wall "${INC[@]}" "${LIBS[@]}" --top-module "$(basename "$f" .v)" "$f" \
        || { say "  FAIL $f"; fail=1; }
done
for f in "${WRAPPERS[@]}"; do
    verilator --lint-only -Wall --timing "${INC[@]}" "${LIBS[@]}" -y rtl/tb \
        --top-module "$(basename "$f" .v)" "$f" || { say "  FAIL $f"; fail=1; }
done
verilator --lint-only -Wall -DSLUGSIM_PY_CLOCK "${INC[@]}" "${LIBS[@]}" \
    --top-module tb_emc_monitor rtl/tb/tb_emc_monitor.v || { say "  FAIL tb (SLUGSIM_PY_CLOCK)"; fail=1; }

jobs=$("$PY" -m slugsim.testbench.blocks --synth-jobs)
while read -r top sets; do
    # shellcheck disable=SC2086  # "-set NAME VALUE ..." splits on purpose
    gparams=$(printf '%s\n' $sets | paste - - - | awk '{printf "-G%s=%s ", $2, $3}')
    for file in rtl/{common,emc,coherence,ats}/"$top".v; do [ -f "$file" ] && break; done
    # shellcheck disable=SC2086
    verilator --lint-only -Wall "${INC[@]}" "${LIBS[@]}" --top-module "$top" $gparams "$file" \
        || { say "  FAIL $top $gparams"; fail=1; }
done <<< "$jobs"

say "lint_rtl: yosys synth, check -assert, no latches"
synth() {  # synth TOP [chparam args...]
    local top=$1; shift
    yosys -q -p "read_verilog ${INC[*]} ${SYNTH[*]}; \
        hierarchy -check -top $top $*; synth -top $top; check -assert; \
        select -assert-none $LATCHES" >/dev/null
}
for f in "${SYNTH[@]}"; do
    synth "$(basename "$f" .v)" || { say "  FAIL yosys $f"; fail=1; }
done
while read -r top sets; do
    # shellcheck disable=SC2086
    synth "$top" $(printf '%s\n' $sets | paste -d' ' - - - | sed 's/^-set/-chparam/') \
        || { say "  FAIL yosys $top $sets"; fail=1; }
done <<< "$jobs"
# illegal parameters must stop elaboration
for bad in "stream_fifo -chparam DEPTH 3" "emc_monitor -chparam TS_WIDTH 49" \
        "emc_monitor -chparam DATA_WIDTH 80" "emc_monitor -chparam CHANNEL 12" \
        "rr_arbiter -chparam PORTS 1" "snoop_filter -chparam SETS 6" \
        "snoop_filter -chparam WAYS 3" "snoop_filter -chparam WAYS 128" \
        "snoop_filter -chparam SHARER_WIDTH 0" "snoop_filter -chparam SHARER_WIDTH 65" \
        "snoop_filter -chparam SETS 16 -chparam ADDR_WIDTH 4" "atc -chparam ENTRIES 12" \
        "atc -chparam WAYS 3" "atc -chparam ENTRIES 4 -chparam WAYS 8" "atc -chparam MSHRS 17" \
        "atc -chparam WAITERS 0" "atc -chparam RSP_DEPTH 3" "atc -chparam LARGE_ENTRIES 6" \
        "atc -chparam VPN_WIDTH 9" "atc -chparam PPN_WIDTH 41" "atc -chparam MSHR_TAG_WIDTH 4" \
        "tree_plru -chparam WAYS 5" \
        "dcoh_bias -chparam BI_TRACKERS 17" "dcoh_bias -chparam ADDR_WIDTH 17" \
        "dcoh_bias -chparam SF_WAYS 3" "dcoh_tag_array -chparam SETS 6"; do
    # shellcheck disable=SC2086
    if synth $bad 2>/dev/null; then say "  FAIL yosys accepted illegal: $bad"; fail=1; fi
done

say "lint_rtl: pyverilog parse + port naming"
"$PY" -m slugsim.testbench.hdl --quiet "${SYNTH[@]}" "${WRAPPERS[@]}" || fail=1

if [ "$fail" -ne 0 ]; then say "lint_rtl: FAILED"; exit 1; fi
say "lint_rtl: ok (${#SYNTH[@]} modules, ${#WRAPPERS[@]} test wrappers)"
