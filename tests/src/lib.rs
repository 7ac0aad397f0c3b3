//! End-to-end tests across the kernel, the host CLI and the firmware.
//!
//! [`scenario`] turns seeded random respondents into a kiosk script of button levels (with
//! contact bounce) and, independently of the firmware's flow, into the tally the host expects;
//! [`qemu`] builds the firmware and runs a script on QEMU, returning its exports and its log;
//! [`provision`] gives every kiosk it runs a test key, and checks what the kiosk signs with it.

pub mod campaign;
pub mod provision;
pub mod qemu;
pub mod scenario;
