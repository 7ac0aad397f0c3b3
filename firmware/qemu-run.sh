#!/usr/bin/env bash
# Cargo runner for thumbv7em-none-eabihf: boots the ELF on QEMU's mps2-an386 (Cortex-M4F) and
# decodes its defmt log. Semihosting stdout carries defmt frames; stderr carries plain text (the
# export JSON) untouched. The exit code is QEMU's, i.e. the firmware's (docs/design.md,
# "Running on QEMU").
# KIOSK_SCRIPT=<file> passes a scripted session to the firmware (semihosting command line).
set -euo pipefail
elf="$1"
shift
semi="enable=on,target=native"
if [ -n "${KIOSK_SCRIPT:-}" ]; then
  semi="$semi,arg=surveybench-firmware,arg=$KIOSK_SCRIPT"
fi
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm \
  -cpu "${QEMU_CPU:-cortex-m4}" -machine "${QEMU_MACHINE:-mps2-an386}" \
  -nographic -monitor none -serial none \
  -semihosting-config "$semi" \
  ${QEMU_EXTRA:-} \
  -kernel "$elf" \
  | defmt-print -e "$elf" ${DEFMT_PRINT_ARGS:---show-skipped-frames}
