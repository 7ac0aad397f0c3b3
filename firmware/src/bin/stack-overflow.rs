//! Recurses until the stack overflows, to show the guard: with flip-link the overflow faults at
//! the bottom of RAM, the HardFault handler logs "stack overflow" and QEMU exits with 102; the
//! statics above the stack are never reached. `tests/` runs it (`a_stack_overflow_faults`).
//! On the host it is an empty program.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    use surveybench_firmware::board;
    defmt::info!("recursing until the stack overflows");
    let depth = deeper(0);
    // Not reached while the guard works: the recursion only ends at u32::MAX frames.
    defmt::error!("the stack did not overflow ({=u32} frames)", depth);
    board::exit(0)
}

/// One 64-byte frame more per call, kept on the stack by `black_box`.
#[cfg(target_os = "none")]
#[inline(never)]
fn deeper(depth: u32) -> u32 {
    let mut frame = [0u8; 64];
    frame[0] = depth.to_le_bytes()[0];
    core::hint::black_box(&mut frame);
    if depth == u32::MAX { depth } else { deeper(depth + 1).wrapping_add(u32::from(frame[1])) }
}

#[cfg(not(target_os = "none"))]
fn main() {}
