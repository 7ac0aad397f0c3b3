#!/usr/bin/env bash
# Cargo runner for thumbv7em-none-eabihf: boots the ELF on QEMU's mps2-an386 (Cortex-M4F) and
# decodes its defmt log (docs/design.md, "Running on QEMU" and "Which peripherals of
# mps2-an386 does the kiosk use, and why?").
#
# Semihosting stdout carries the defmt frames, piped into defmt-print (this script's stdout).
# UART0 is the button board, UART1 the staff console: the export JSON, one document a line,
# short console lines, and commands typed on it (export, status, help). The exit code is the
# firmware's. By default the run is in virtual time (-icount shift=0,sleep=off): one
# instruction is 1 ns, and idle time (WFI) is skipped, so a scripted session of minutes runs
# in seconds and its log's timestamps are the kiosk's milliseconds.
#
# Environment:
#   KIOSK_SCRIPT=FILE         the button board plays FILE (lines of src/script.rs) into UART0;
#                             without it, or KIOSK_BUTTONS, the firmware plays its demo script
#   KIOSK_BUTTONS=CHARDEV     the button board as a QEMU chardev instead, e.g.
#                             socket,host=127.0.0.1,port=7001,server=on,wait=on
#   KIOSK_CONSOLE=CHARDEV     UART1 as a QEMU chardev, e.g. for a collector to connect to:
#                             socket,host=127.0.0.1,port=7000,server=on,wait=on
#                             (overrides the two below)
#   KIOSK_CONSOLE_FILE=FILE   UART1's output to FILE (default: this script's stderr)
#   KIOSK_CONSOLE_INPUT=FILE  console commands read from FILE (default: none)
#   KIOSK_FLASH=FILE          the kiosk's flash backed by FILE (created erased if missing), so
#                             it survives the run; without it the flash is RAM, erased at boot
#   KIOSK_PROVISION=FILE      the kiosk's provisioning image (identity and signing key, e.g.
#                             from `surveybench keys new`; at most 4096 bytes), loaded raw at
#                             its provisioning region, 0x3FF000 (memory.x PROVISION); QEMU loads
#                             it again at every reset. Without it the region reads as zeros: a
#                             kiosk never provisioned, which collects responses but does not export
#   QEMU_ICOUNT=OPTS          -icount OPTS (default shift=0,sleep=off); empty: host time
#   QEMU_TIMEOUT=SECONDS      hang guard (default 120)
#   QEMU_EXTRA=ARGS           more QEMU arguments
#   QEMU_CPU, QEMU_MACHINE, DEFMT_PRINT_ARGS
# Paths may not hold spaces (the firmware splits its semihosting command line at spaces).
set -euo pipefail
elf="$1"
shift
# A value inside a QEMU option list: commas doubled.
opt() { printf '%s' "${1//,/,,}"; }

semi="enable=on,target=native,arg=surveybench-firmware"
serial=()
if [ -n "${KIOSK_BUTTONS:-}" ]; then
  serial+=(-chardev "$KIOSK_BUTTONS,id=buttons" -serial chardev:buttons)
  semi="$semi,arg=buttons=uart"
elif [ -n "${KIOSK_SCRIPT:-}" ]; then
  [ -r "$KIOSK_SCRIPT" ] || { echo "qemu-run.sh: cannot read KIOSK_SCRIPT=$KIOSK_SCRIPT" >&2; exit 2; }
  serial+=(-chardev "file,id=buttons,path=/dev/null,input-path=$(opt "$KIOSK_SCRIPT")" -serial chardev:buttons)
  semi="$semi,arg=buttons=uart"
else
  serial+=(-serial null)
fi
if [ -n "${KIOSK_CONSOLE:-}" ]; then
  console="$KIOSK_CONSOLE"
else
  console="file,path=$(opt "${KIOSK_CONSOLE_FILE:-/dev/stderr}")"
  [ -n "${KIOSK_CONSOLE_FILE:-}" ] || console="$console,append=on"
  if [ -n "${KIOSK_CONSOLE_INPUT:-}" ]; then
    console="$console,input-path=$(opt "$KIOSK_CONSOLE_INPUT")"
  fi
fi
serial+=(-chardev "$console,id=console" -serial chardev:console)
if [ -n "${KIOSK_FLASH:-}" ]; then
  semi="$semi,arg=flash=$(opt "$KIOSK_FLASH")"
fi
loader=()
if [ -n "${KIOSK_PROVISION:-}" ]; then
  [ -r "$KIOSK_PROVISION" ] || { echo "qemu-run.sh: cannot read KIOSK_PROVISION=$KIOSK_PROVISION" >&2; exit 2; }
  [ "$(stat -c %s "$KIOSK_PROVISION")" -le 4096 ] \
    || { echo "qemu-run.sh: KIOSK_PROVISION=$KIOSK_PROVISION is larger than its 4 KiB region" >&2; exit 2; }
  loader=(-device "loader,file=$(opt "$KIOSK_PROVISION"),addr=0x3FF000,force-raw=on")
fi
icount=()
if [ -n "${QEMU_ICOUNT-shift=0,sleep=off}" ]; then
  icount=(-icount "${QEMU_ICOUNT-shift=0,sleep=off}")
fi
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm \
  -cpu "${QEMU_CPU:-cortex-m4}" -machine "${QEMU_MACHINE:-mps2-an386}" \
  -nographic -monitor none \
  "${icount[@]}" \
  "${serial[@]}" \
  "${loader[@]}" \
  -semihosting-config "$semi" \
  ${QEMU_EXTRA:-} \
  -kernel "$elf" \
  | defmt-print -e "$elf" ${DEFMT_PRINT_ARGS:---show-skipped-frames}
