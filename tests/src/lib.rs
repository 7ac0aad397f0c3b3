//! End-to-end tests across the kernel, the host CLI and the firmware.
//!
//! [`scenario`] turns seeded random respondents into a kiosk script of button levels (with
//! contact bounce) and, independently of the firmware's flow, into the tally the host expects;
//! [`qemu`] builds the firmware and runs a script on QEMU, returning its exports and its log.

pub mod campaign;
pub mod qemu;
pub mod scenario;
