//! Ends of a run: semihosting's exit (QEMU's exit status is the firmware's), the panic
//! handlers, the HardFault entry, and the stack's span and high-water mark (docs/design.md,
//! "RAM: 32 KiB, counted whole").

/// Ends the QEMU run with `code` as the process exit status (SYS_EXIT_EXTENDED).
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(1)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panicked: {}", defmt::Display2Format(info));
    exit(101)
}

// The HardFault vector, in place of cortex-m-rt's trampoline. flip-link puts the stack at the
// bottom of RAM, so an overflow faults at the RAM's edge with the stack pointer outside RAM,
// where the handler could push nothing: a fault inside HardFault is a lockup, which QEMU 10
// ends with "Lockup: can't escalate 3 to HardFault" and SIGABRT (exit 134), before any log line.
// So the stack pointer is first set back to the top of the stack: what the stack held is lost,
// which is fine, as the handler logs and exits without returning.
core::arch::global_asm!(
    ".section .HardFault.surveybench, \"ax\"",
    ".global HardFault",
    ".type HardFault,%function",
    ".thumb_func",
    "HardFault:",
    "mrs r0, msp",
    "ldr r1, =_stack_start",
    "msr msp, r1",
    "b {handler}",
    handler = sym hard_fault,
);

/// Logs the fault and exits with 102. `sp` is the stack pointer after the exception entry
/// pushed (or failed to push) the exception frame.
extern "C" fn hard_fault(sp: u32) -> ! {
    let (bottom, top) = stack_span();
    let sp = sp as usize;
    if sp >= bottom && sp.saturating_add(32) <= top {
        // SAFETY: the exception frame (r0-r3, r12, lr, pc, xpsr) lies within the stack's RAM.
        let pc = unsafe { core::ptr::read_volatile((sp + 24) as *const u32) };
        defmt::error!("HardFault at pc={=u32:#x}", pc);
    } else {
        defmt::error!(
            "HardFault: stack overflow (stack pointer {=usize:#x}, the stack's bottom is {=usize:#x})",
            sp,
            bottom
        );
    }
    exit(102)
}

/// The stack's lowest address (`_stack_end`) and its top (`_stack_start`), from the linker:
/// with flip-link, the bottom of RAM up to the statics above it.
fn stack_span() -> (usize, usize) {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    (&raw const _stack_end as usize, &raw const _stack_start as usize)
}

/// The deepest the stack has been since reset, and the bytes reserved for it, from
/// `_stack_end` (its lowest address) to `_stack_start` (its top). cortex-m-rt's reset handler
/// (feature `paint-stack`) fills that span with `STACK_PAINT_VALUE` before `main`; the lowest
/// word no longer holding it is the high-water mark. It counts what was written: stack a frame
/// reserved but never wrote, or wrote with the pattern itself, does not show.
pub fn stack_peak() -> (u32, u32) {
    let (bottom, top) = stack_span();
    let mut low = bottom;
    // SAFETY: the span is RAM reserved for the stack, word-aligned (cortex-m-rt checks); the
    // words below the stack pointer are read as plain memory, never through a reference.
    while low < top
        && unsafe { core::ptr::read_volatile(low as *const u32) } == cortex_m_rt::STACK_PAINT_VALUE
    {
        low += 4;
    }
    let bytes = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (bytes(top - low), bytes(top - bottom))
}
