# The 14 distilled students the int8 experiments compare over (sourced by int8_equalization.sh and
# int8_rounding.sh): the "Further attempts" search in docs/export.md (runs/d2_*), the width-32 default of
# session 1 (runs/student) and seeds 2-4 of the shipped recipe (runs/s2_w16_seed*).
# shellcheck disable=SC2034  # used by the scripts that source this file
int8_students=(runs/student runs/d2_w32_s1 runs/d2_w32_t2a5 runs/d2_w16_e8 runs/d2_w16_e8_t2a5 runs/d2_w16_e8_n05_s1
               runs/d2_w16_e8_ew01 runs/d2_w16_e8_ew03 runs/d2_w16_e8_ew03_n05 runs/d2_w16_e8_ew03_t2a5
               runs/d2_w16_e8_ew03_s1 runs/s2_w16_seed2 runs/s2_w16_seed3 runs/s2_w16_seed4)
