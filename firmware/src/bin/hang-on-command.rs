//! The kiosk firmware with its test hooks on: the staff console (UART1) also takes `hang`,
//! which stops feeding the watchdog, so that the end-to-end tests can show that a hung kiosk
//! resets and recovers its tally from flash (`a_hung_kiosk_resets_and_recovers_its_tally` in
//! tests/tests/qemu_e2e.rs). Never shipped. On the host it is an empty program.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    use surveybench_firmware::board::{self, Hooks};
    board::run_with(Hooks { hang_command: true })
}

#[cfg(not(target_os = "none"))]
fn main() {}
