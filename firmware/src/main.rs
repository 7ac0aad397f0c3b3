//! The kiosk firmware binary for mps2-an386 under QEMU. On the host it is an empty program,
//! so that `cargo test -p surveybench-firmware` can build the package there.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    surveybench_firmware::board::run()
}

#[cfg(not(target_os = "none"))]
fn main() {}
