#!/usr/bin/env bash
# Cargo runner for thumbv7em-none-eabihf: boots the ELF on QEMU's mps2-an386 (Cortex-M4F) and
# decodes its defmt log. Semihosting stdout carries defmt frames; stderr carries plain text (the
# export JSON) untouched. The exit code is QEMU's, i.e. the firmware's (docs/embedded.md).
set -euo pipefail
elf="$1"
shift
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm \
  -cpu "${QEMU_CPU:-cortex-m4}" -machine "${QEMU_MACHINE:-mps2-an386}" \
  -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native \
  ${QEMU_EXTRA:-} \
  -kernel "$elf" \
  | defmt-print -e "$elf" ${DEFMT_PRINT_ARGS:---show-skipped-frames}
