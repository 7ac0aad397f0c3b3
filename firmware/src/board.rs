//! Board glue for mps2-an386 under QEMU: semihosting exit codes and streams, defmt over
//! semihosting stdout, a RAM-backed NOR flash, LEDs and a display that log, a scripted button
//! panel, the static tally, the stack's high-water mark and the HardFault entry. Only this
//! module, `main.rs` and `bin/stack-overflow.rs` are target-specific (docs/design.md,
//! "Running on QEMU" and "RAM: 32 KiB, counted whole").
#![allow(unsafe_code, reason = "the static tally and flash regions, the stack's span, and HardFault need it")]

use core::cell::Cell;
use core::convert::Infallible;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embedded_hal::digital::{ErrorType, OutputPin};
use embedded_storage::nor_flash::{
    ErrorType as FlashErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use semihosting::io::Read as _;
use surveybench_kernel::export::{Header, Sink};

use crate::buttons::{Buttons, Gesture};
use crate::config::Config;
use crate::display::{Display, Screen};
use crate::flow::{Event, Kiosk};
use crate::leds::Leds;
use crate::script::{ScriptPin, Step, parse_line};
use crate::storage::{self, MappedFlash, Store};
use crate::{CELLS, INSTRUMENT, KioskTally, PAIRS, QUESTIONS};

use defmt_semihosting as _;

/// Milliseconds between two samples of the buttons.
pub const TICK_MS: u32 = 5;
/// Bytes of the RAM-backed flash (two slots of the export's maximum size, rounded up).
pub const STORAGE_LEN: usize = 128 * 1024;
/// Erase block of the RAM-backed flash (a typical NOR sector).
pub const SECTOR: usize = 4096;
/// The device's identity in its exports.
pub const DEVICE: &str = "qemu-kiosk-1";
/// The site (trust code) of this kiosk.
pub const SITE: &str = "RT5";
/// The survey period.
pub const PERIOD: &str = "2024";

/// The script QEMU runs when none is given on its semihosting command line.
const DEMO: &str = include_str!("../scripts/demo.txt");

static NOW_MS: AtomicU32 = AtomicU32::new(0);

defmt::timestamp!("{=u32:ms}", NOW_MS.load(Ordering::Relaxed));

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

#[unsafe(link_section = ".storage")]
static mut STORAGE: [u8; STORAGE_LEN] = [0; STORAGE_LEN];
static STORAGE_TAKEN: AtomicBool = AtomicBool::new(false);

/// A NOR flash in RAM: erase sets bytes to 0xFF, a write can only clear bits.
pub struct RamFlash {
    bytes: &'static mut [u8],
}

impl RamFlash {
    /// The storage region, erased (a fresh device). `None` if already taken.
    pub fn take() -> Option<Self> {
        if STORAGE_TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag above hands the region out once, so this is its only reference.
        let bytes: &'static mut [u8] = unsafe { &mut *core::ptr::addr_of_mut!(STORAGE) };
        bytes.fill(0xFF);
        Some(Self { bytes })
    }
}

/// Errors of [`RamFlash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamFlashError(NorFlashErrorKind);

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl FlashErrorType for RamFlash {
    type Error = RamFlashError;
}

impl RamFlash {
    fn range(&self, offset: u32, len: usize, align: usize) -> Result<core::ops::Range<usize>, RamFlashError> {
        let start = offset as usize;
        let end = start.checked_add(len).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or(RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(RamFlashError(NorFlashErrorKind::NotAligned));
        }
        Ok(start..end)
    }
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), RamFlashError> {
        let r = self.range(offset, bytes.len(), 1)?;
        bytes.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), RamFlashError> {
        let len = to.checked_sub(from).ok_or(RamFlashError(NorFlashErrorKind::OutOfBounds))?;
        let r = self.range(from, len as usize, SECTOR)?;
        self.bytes[r].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), RamFlashError> {
        let r = self.range(offset, bytes.len(), Self::WRITE_SIZE)?;
        for (cell, b) in self.bytes[r].iter_mut().zip(bytes) {
            *cell &= *b;
        }
        Ok(())
    }
}

impl MappedFlash for RamFlash {
    fn mapped(&self) -> &[u8] {
        self.bytes
    }
}

/// An LED that logs when it changes.
pub struct LogLed {
    name: &'static str,
    on: bool,
}

impl LogLed {
    /// An LED called `name`, off.
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        Self { name, on: false }
    }

    fn set(&mut self, on: bool) {
        if on != self.on {
            defmt::debug!("led {=str} {=bool}", self.name, on);
        }
        self.on = on;
    }
}

impl ErrorType for LogLed {
    type Error = Infallible;
}

impl OutputPin for LogLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(true);
        Ok(())
    }
}

/// The display: screens as defmt log lines.
pub struct LogDisplay;

impl Display for LogDisplay {
    fn show(&mut self, screen: Screen<'_>) {
        match screen {
            Screen::Welcome => defmt::info!("screen: welcome"),
            Screen::Question { index, question, page, pages } => {
                defmt::info!(
                    "screen: {=str} ({=usize}) page {=u8}/{=u8}: {=str}",
                    question.id,
                    index,
                    page + 1,
                    pages,
                    question.text
                );
            }
            Screen::Thanks => defmt::info!("screen: thank you"),
            Screen::Rejected => defmt::warn!("screen: too fast, not counted as a response"),
            Screen::TimedOut => defmt::info!("screen: timed out, response discarded"),
            Screen::Exported(n) => defmt::info!("screen: export {=u32} written", n),
            Screen::StorageFailed => defmt::error!("screen: storage failed, call staff"),
        }
    }
}

/// Semihosting stderr, buffered: the channel for the export JSON (defmt has stdout).
struct Stderr {
    out: semihosting::io::Stderr,
    buf: [u8; 256],
    used: usize,
}

impl Stderr {
    fn open() -> Option<Self> {
        Some(Self { out: semihosting::io::stderr().ok()?, buf: [0; 256], used: 0 })
    }

    fn flush(&mut self) -> Result<(), ()> {
        use semihosting::io::Write as _;
        let used = core::mem::take(&mut self.used);
        self.out.write_all(&self.buf[..used]).map_err(|_| ())
    }
}

impl Sink for Stderr {
    type Error = ();

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
        for &b in bytes {
            if self.used == self.buf.len() {
                self.flush()?;
            }
            self.buf[self.used] = b;
            self.used += 1;
        }
        Ok(())
    }
}

/// Where the script's lines come from: a host file (first semihosting argument after the
/// program name) or the compiled-in demo.
enum Lines {
    File { file: semihosting::fs::File, buf: [u8; 128], len: usize, eof: bool },
    Demo(core::str::Lines<'static>),
}

impl Lines {
    fn open() -> Self {
        let file = semihosting::experimental::env::args::<256>().ok().and_then(|args| {
            let path = (&args).nth(1)?.ok()?;
            let mut c = [0u8; 200];
            let bytes = path.as_bytes();
            c.get_mut(..bytes.len())?.copy_from_slice(bytes);
            let cstr = core::ffi::CStr::from_bytes_until_nul(&c).ok()?;
            defmt::info!("script: {=str}", path);
            semihosting::fs::File::open(cstr).ok()
        });
        match file {
            Some(file) => Lines::File { file, buf: [0; 128], len: 0, eof: false },
            None => {
                defmt::info!("script: compiled-in demo");
                Lines::Demo(DEMO.lines())
            }
        }
    }

    /// The next line, passed to `f`; `None` at the end.
    fn next_step(&mut self) -> Option<Result<Option<Step>, ()>> {
        match self {
            Lines::Demo(lines) => lines.next().map(|l| parse_line(l).map_err(|_| ())),
            Lines::File { file, buf, len, eof } => loop {
                if let Some(nl) = buf[..*len].iter().position(|&b| b == b'\n') {
                    let parsed = core::str::from_utf8(&buf[..nl])
                        .map_err(|_| ())
                        .and_then(|l| parse_line(l).map_err(|_| ()));
                    buf.copy_within(nl + 1..*len, 0);
                    *len -= nl + 1;
                    return Some(parsed);
                }
                if *eof || *len == buf.len() {
                    if *len == 0 {
                        return None;
                    }
                    let parsed = core::str::from_utf8(&buf[..*len])
                        .map_err(|_| ())
                        .and_then(|l| parse_line(l).map_err(|_| ()));
                    *len = 0;
                    *eof = true;
                    return Some(parsed);
                }
                match file.read(&mut buf[*len..]) {
                    Ok(0) | Err(_) => *eof = true,
                    Ok(n) => *len += n,
                }
            },
        }
    }
}

type BoardKiosk = Kiosk<'static, 'static, RamFlash, LogLed, LogLed, LogDisplay, QUESTIONS, CELLS, PAIRS>;

/// The kiosk's tally: 17 KB for `cmh-2024`, more than half of the RAM. It is built here, in
/// place, and handed out once; it never passes through the stack.
static mut TALLY: MaybeUninit<KioskTally> = MaybeUninit::uninit();
static TALLY_TAKEN: AtomicBool = AtomicBool::new(false);

/// The tally, empty, built in [`TALLY`]. `None` if already taken or if the instrument does not
/// fit (it always does: the capacities are computed from it).
fn tally() -> Option<&'static mut KioskTally> {
    if TALLY_TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag above hands the slot out once, so this is its only reference.
    let slot: &'static mut MaybeUninit<KioskTally> = unsafe { &mut *core::ptr::addr_of_mut!(TALLY) };
    KioskTally::init(slot, INSTRUMENT).ok()
}

/// Boots the kiosk on QEMU and runs the scripted session; exits 0 when it ran clean, 3 when
/// an action failed, 4 for a bad script, 5 when the board could not be set up.
pub fn run() -> ! {
    defmt::info!("surveybench kiosk: instrument {=str}", INSTRUMENT.id);
    start_systick();
    let code = match session() {
        Ok(0) => 0,
        Ok(failures) => {
            defmt::error!("{=u32} actions failed", failures);
            3
        }
        Err(code) => code,
    };
    let (peak, reserved) = stack_peak();
    defmt::info!("stack: peak {=u32} B of {=u32} B", peak, reserved);
    exit(code)
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

fn kiosk() -> Result<BoardKiosk, i32> {
    let flash = RamFlash::take().ok_or(5)?;
    let layout = storage::Layout::of(INSTRUMENT, SECTOR);
    defmt::info!(
        "storage: two snapshot slots of {=u32} B, a journal of {=u32} records of {=u32} B",
        layout.slot_len,
        layout.records(),
        layout.record_len
    );
    let store = Store::new(flash, 0, layout).map_err(|_| 5)?;
    let tally = tally().ok_or(5)?;
    let identity = Header::new(DEVICE, SITE, PERIOD, 0).map_err(|_| 5)?;
    let leds = Leds::new(LogLed::new("green"), LogLed::new("red")).map_err(|_| 5)?;
    let kiosk = Kiosk::boot(Config::BUILD, tally, identity, store, leds, LogDisplay);
    match kiosk.recovered() {
        Ok(r) => defmt::info!(
            "storage: recovered generation {=u32}, {=u32} journal records, export sequence {=u32}, {=u32} storage faults{=str}",
            r.generation,
            r.replayed,
            r.sequence,
            r.faults,
            if r.new_fault { " (one found at this boot)" } else { "" }
        ),
        Err(_) => defmt::error!("storage: could not be made ready; every save will fail"),
    }
    Ok(kiosk)
}

fn session() -> Result<u32, i32> {
    let kiosk = &mut kiosk()?;
    let held = Cell::new(0u8);
    let mut buttons = Buttons::new(ScriptPin::panel(&held), Config::BUILD.debounce_ms);
    let mut lines = Lines::open();
    let mut failures = 0u32;
    let mut now = 0u32;
    let mut pending: Option<Step> = None;
    loop {
        // Apply every step due by now.
        loop {
            if pending.is_none() {
                pending = match lines.next_step() {
                    None => Some(Step::End { at: now }),
                    Some(Ok(step)) => step,
                    Some(Err(())) => {
                        defmt::error!("script: bad line");
                        return Err(4);
                    }
                };
                if pending.is_none() {
                    continue;
                }
            }
            match pending {
                Some(Step::Hold { at, held: h }) if at <= now => {
                    held.set(h);
                    pending = None;
                }
                Some(Step::End { at }) if at <= now => return Ok(failures),
                _ => break,
            }
        }
        NOW_MS.store(now, Ordering::Relaxed);
        let gesture = buttons.poll(now).unwrap_or(None);
        if let Some(g) = gesture {
            failures += handle(kiosk, g, now);
        }
        if let Event::Failed(_) = kiosk.on_tick(now) {
            failures += 1;
        }
        now += TICK_MS;
    }
}

/// Starts SysTick free-running on the processor clock. Under QEMU with `-icount shift=0`
/// (one instruction = 1 ns of virtual time) and mps2's 25 MHz clock, a tick is 40 instructions,
/// so tick counts measure instructions (docs/design.md); without `-icount` they follow host time.
fn start_systick() {
    if let Some(mut p) = cortex_m::Peripherals::take() {
        p.SYST.set_clock_source(cortex_m::peripheral::syst::SystClkSource::Core);
        p.SYST.set_reload(0x00FF_FFFF);
        p.SYST.clear_current();
        p.SYST.enable_counter();
    }
}

/// SysTick ticks since `start` (a down-counter of 24 bits).
fn ticks_since(start: u32) -> u32 {
    start.wrapping_sub(cortex_m::peripheral::SYST::get_current()) & 0x00FF_FFFF
}

/// Handles one gesture; returns 1 if it failed.
fn handle(kiosk: &mut BoardKiosk, gesture: Gesture, now: u32) -> u32 {
    let start = cortex_m::peripheral::SYST::get_current();
    let event = kiosk.on_gesture(gesture, now);
    let ticks = ticks_since(start);
    match event {
        Event::Started => defmt::info!("response started"),
        Event::Committed => defmt::info!(
            "response committed and saved in {=u32} SysTick ticks (x40 = instructions under -icount shift=0)",
            ticks
        ),
        Event::Rejected => defmt::warn!("submission rejected as implausibly fast"),
        Event::Abandoned => defmt::info!("response abandoned"),
        Event::Ignored => defmt::debug!("press ignored"),
        Event::ExportRequested => {
            let Some(mut err) = Stderr::open() else {
                return 1;
            };
            let written = kiosk.export(&mut err);
            let ended = err.write_all(b"\n").and_then(|()| err.flush());
            return match (written, ended) {
                (Ok(seq), Ok(())) => {
                    defmt::info!("export {=u32} written to stderr", seq);
                    0
                }
                _ => {
                    defmt::error!("export failed");
                    1
                }
            };
        }
        Event::Failed(_) => {
            defmt::error!("action failed: not stored");
            return 1;
        }
        Event::None => {}
    }
    0
}
