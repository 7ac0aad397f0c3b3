//! Board glue for mps2-an386 under QEMU 10: the kiosk on the board's peripherals, each behind
//! an embedded-hal or embedded-io trait so that the portable kiosk ports to a real board
//! (docs/design.md, "Which peripherals of mps2-an386 does the kiosk use, and why?"):
//!
//! - [`uart`]: CMSDK APB UART0 carries the button board's lines ([`crate::button_board`]),
//!   UART1 the staff console ([`crate::console`]) and the export JSON;
//! - [`clock`]: CMSDK APB timer 0 is the millisecond clock (and the defmt timestamps);
//!   SysTick only wakes the CPU from WFI between polls of the buttons;
//! - [`leds`]: the FPGAIO LED0 register's two bits are the green and red LEDs;
//! - [`watchdog`]: the CMSDK APB watchdog resets a kiosk that stops feeding it;
//! - [`flash`]: a RAM-backed NOR flash, written through to a host file by semihosting;
//! - [`provisioning`]: the flash region at the top of code memory that holds the kiosk's
//!   provisioning image (its identity and signing key), which the firmware image never fills;
//! - [`display`], [`args`], [`fault`]: screens as log lines, the semihosting command line,
//!   exit codes, panics, HardFault and the stack's high-water mark.
//!
//! The defmt log goes to semihosting stdout. Only this module, `main.rs` and `src/bin/` are
//! target-specific (docs/design.md, "Running on QEMU" and "RAM: 32 KiB, counted whole").
#![allow(
    unsafe_code,
    reason = "registers, the static tally and flash regions, the provisioning region, the stack's span, and HardFault need it"
)]

pub mod args;
pub mod clock;
pub mod display;
pub mod fault;
pub mod flash;
pub mod leds;
pub mod uart;
pub mod watchdog;

use core::cell::Cell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorType, Read, ReadReady};
use surveybench_kernel::export::Sink;
use surveybench_kernel::provision::ProvisionError;

use self::args::Args;
use self::clock::Clock;
use self::display::LogDisplay;
use self::flash::Backing;
use self::leds::FpgaLed;
use self::uart::{Uart, UartError};
use self::watchdog::Watchdog;
use crate::button_board::{BoardError, ButtonBoard, Recorded};
use crate::buttons::{Buttons, Gesture};
use crate::config::Config;
use crate::console::{self, Command, Console};
use crate::flow::{Event, Failure, Kiosk};
use crate::key::Key;
use crate::leds::Leds;
use crate::script::{ScriptPin, Step};
use crate::storage::{self, Store};
use crate::{CELLS, INSTRUMENT, KioskTally, PAIRS, QUESTIONS};

pub use self::fault::{exit, stack_peak};
pub use self::flash::{RamFlash, RamFlashError, SECTOR, STORAGE_LEN};

use defmt_semihosting as _;

/// Milliseconds between two samples of the buttons (SysTick's period).
pub const TICK_MS: u32 = 5;

/// The script that plays the button board when none is connected (no `buttons=uart`).
const DEMO: &[u8] = include_bytes!("../../scripts/demo.txt");

/// A 32-bit memory-mapped register. Only the drivers in this module make them, each for a
/// register of mps2-an386 (addresses from QEMU 10's `info mtree`, docs/design.md).
#[derive(Clone, Copy)]
struct Reg(usize);

impl Reg {
    const fn at(base: usize, offset: usize) -> Self {
        Self(base + offset)
    }

    fn read(self) -> u32 {
        // SAFETY: a device register of the board (see the type), aligned, always readable.
        unsafe { core::ptr::read_volatile(self.0 as *const u32) }
    }

    fn write(self, value: u32) {
        // SAFETY: as for `read`; the drivers write only values their device documents.
        unsafe { core::ptr::write_volatile(self.0 as *mut u32, value) }
    }
}

/// Test-only behaviour that a dedicated binary may switch on (`src/bin/hang-on-command.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    /// The console command `hang` stops feeding the watchdog.
    pub hang_command: bool,
}

/// Where the button board's lines come from: UART0, or the compiled-in demo.
enum Panel {
    Uart(Uart),
    Demo(Recorded<'static>),
}

impl ErrorType for Panel {
    type Error = UartError;
}

impl Read for Panel {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        match self {
            Panel::Uart(uart) => uart.read(buf),
            Panel::Demo(demo) => demo.read(buf).map_err(|never| match never {}),
        }
    }
}

impl ReadReady for Panel {
    fn read_ready(&mut self) -> Result<bool, UartError> {
        match self {
            Panel::Uart(uart) => uart.read_ready(),
            Panel::Demo(demo) => demo.read_ready().map_err(|never| match never {}),
        }
    }
}

type BoardKiosk = Kiosk<'static, 'static, RamFlash, FpgaLed, FpgaLed, LogDisplay, QUESTIONS, CELLS, PAIRS>;

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

/// Boots the kiosk and runs its session until the button board ends it; exits 0 when it ran
/// clean, 3 when an action failed, 4 for a bad button board line, 5 when the board could not
/// be set up.
pub fn run() -> ! {
    run_with(Hooks::default())
}

/// [`run`], with test `hooks`.
pub fn run_with(hooks: Hooks) -> ! {
    let code = match boot(hooks) {
        Ok((mut kiosk, mut board)) => match session(&mut kiosk, &mut board) {
            Ok(0) => 0,
            Ok(failures) => {
                defmt::error!("{=u32} actions failed", failures);
                3
            }
            Err(code) => code,
        },
        Err(code) => code,
    };
    let (peak, reserved) = stack_peak();
    defmt::info!("stack: peak {=u32} B of {=u32} B", peak, reserved);
    exit(code)
}

/// The peripherals the session drives.
struct Board {
    clock: Clock,
    watchdog: Watchdog,
    console: Console<Uart>,
    panel: ButtonBoard<Panel>,
    hooks: Hooks,
}

/// Starts the clock and the watchdog, reads the command line, sets up the flash, the
/// peripherals and the kiosk (which recovers its tally).
fn boot(hooks: Hooks) -> Result<(BoardKiosk, Board), i32> {
    let clock = Clock::start().ok_or(5)?;
    defmt::info!("surveybench kiosk: instrument {=str}", INSTRUMENT.id);
    let mut watchdog = Watchdog::start(watchdog::TIMEOUT_MS).ok_or(5)?;
    let core = cortex_m::Peripherals::take().ok_or(5)?;
    clock::start_wakeups(core.SYST, TICK_MS);
    let args = Args::read();
    let flash = flash(&args)?;
    let panel = if args.buttons_uart {
        defmt::info!("buttons: a button board on UART0");
        Panel::Uart(Uart::uart0().ok_or(5)?)
    } else {
        defmt::info!("buttons: the compiled-in demo script (no buttons=uart argument)");
        Panel::Demo(Recorded(DEMO))
    };
    let mut console = Console::new(Uart::uart1().ok_or(5)?);
    watchdog.feed();
    let key = key();
    watchdog.feed();
    let kiosk = kiosk(flash, key)?;
    log_recovered(&kiosk);
    let _ = console.ready(kiosk.key().ok().map(|k| k.header().device.as_str()));
    Ok((kiosk, Board { clock, watchdog, console, panel: ButtonBoard::new(panel), hooks }))
}

/// The flash: backed by the `flash=` file, or RAM only.
fn flash(args: &Args) -> Result<RamFlash, i32> {
    if args.flash_too_long {
        defmt::error!("flash: the flash= path is longer than {=usize} bytes", args::PATH_MAX - 1);
        return Err(5);
    }
    let Some(path) = args.flash() else {
        defmt::info!("flash: RAM only, erased at boot (no flash= argument)");
        return RamFlash::take().ok_or(5);
    };
    let name = path.to_str().unwrap_or("?");
    match RamFlash::backed_by(path) {
        Ok((flash, Backing::Loaded(n))) => {
            defmt::info!("flash: backed by host file {=str} ({=usize} bytes loaded)", name, n);
            Ok(flash)
        }
        Ok((flash, Backing::Created)) => {
            defmt::info!("flash: backed by host file {=str} (created, erased)", name);
            Ok(flash)
        }
        Err(_) => {
            defmt::error!("flash: cannot open, create or read host file {=str}", name);
            Err(5)
        }
    }
}

/// The provisioning region (memory.x `PROVISION`, 4 KiB at the top of code memory): the
/// provisioning image is at its start, written there by whoever provisions the kiosk (under
/// QEMU, `KIOSK_PROVISION`, which the runner loads there); the firmware only reads it.
pub fn provisioning() -> &'static [u8] {
    unsafe extern "C" {
        static _provision_start: u8;
        static _provision_end: u8;
    }
    let start = &raw const _provision_start as usize;
    let end = &raw const _provision_end as usize;
    let region = core::ptr::with_exposed_provenance::<u8>(start);
    // SAFETY: the linker's PROVISION region is memory of the board, mapped and readable for
    // the whole run, that no section of the firmware occupies and nothing in it writes.
    unsafe { core::slice::from_raw_parts(region, end.saturating_sub(start)) }
}

/// The kiosk's key from its provisioning region, logging who the kiosk is or why it has no key.
fn key() -> Result<Key<'static>, ProvisionError> {
    let key = Key::from_image(provisioning());
    match &key {
        Ok(key) => {
            let h = key.header();
            defmt::info!(
                "provision: device {=str}, site {=str}, period {=str}, key {=str}",
                h.device.as_str(),
                h.site.as_str(),
                h.period.as_str(),
                key.id()
            );
        }
        Err(e) => defmt::error!(
            "provision: not provisioned: {}; responses are collected but not exported",
            defmt::Display2Format(e)
        ),
    }
    key
}

/// The kiosk on `flash` with `key`: the store, the tally recovered from it, the LEDs and the
/// display.
fn kiosk(flash: RamFlash, key: Result<Key<'static>, ProvisionError>) -> Result<BoardKiosk, i32> {
    let layout = storage::Layout::of(INSTRUMENT, SECTOR);
    defmt::info!(
        "storage: two snapshot slots of {=u32} B, a journal of {=u32} records of {=u32} B",
        layout.slot_len,
        layout.records(),
        layout.record_len
    );
    let store = Store::new(flash, 0, layout).map_err(|_| 5)?;
    let tally = tally().ok_or(5)?;
    let leds = Leds::new(FpgaLed::green(), FpgaLed::red()).map_err(|_| 5)?;
    Ok(Kiosk::boot(Config::BUILD, tally, key, store, leds, LogDisplay))
}

/// Logs what booting recovered from flash: the store's state, and the tally's counters.
fn log_recovered(kiosk: &BoardKiosk) {
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
    let c = kiosk.tally().counters();
    let sequence = kiosk.sequence();
    if c.started == 0 && sequence == 0 {
        defmt::info!("storage: nothing recovered, the tally is empty");
    } else {
        defmt::info!(
            "storage: recovered the tally: {=u32} completed, {=u32} rejected, {=u32} abandoned, last export {=u32}",
            c.completed,
            c.rejected,
            c.abandoned,
            sequence
        );
    }
}

/// Runs the session: feeds the watchdog, applies the button board's steps as they fall due,
/// serves the console, and samples the buttons at every SysTick. Sleeps (WFI) only while the
/// next step is known; while it is still to come, polls UART0 instead (docs/design.md).
/// Returns the failed actions when the board ends the session.
fn session(kiosk: &mut BoardKiosk, board: &mut Board) -> Result<u32, i32> {
    let held = Cell::new(0u8);
    let mut buttons = Buttons::new(ScriptPin::panel(&held), Config::BUILD.debounce_ms);
    let mut failures = 0u32;
    let mut sampled = clock::wakes();
    loop {
        board.watchdog.feed();
        let now = board.clock.now_ms();
        if board.apply_steps(&held, now)? {
            return Ok(failures);
        }
        failures += board.serve_console(kiosk, now);
        let wakes = clock::wakes();
        if wakes != sampled {
            sampled = wakes;
            if let Ok(Some(gesture)) = buttons.poll(now) {
                failures += handle(kiosk, &mut board.console, gesture, now);
            }
            if let Event::Failed(_) = kiosk.on_tick(now) {
                failures += 1;
            }
        }
        let sleep = board.panel.next_known();
        // With interrupts masked, a SysTick after the check still ends the WFI.
        cortex_m::interrupt::free(|_| {
            if sleep && clock::wakes() == sampled {
                cortex_m::asm::wfi();
            }
        });
    }
}

impl Board {
    /// Receives the button board's lines and applies the steps due at `now` to `held`;
    /// `Ok(true)` when the session ends.
    fn apply_steps(&mut self, held: &Cell<u8>, now: u32) -> Result<bool, i32> {
        match self.panel.receive(now) {
            Ok(()) => {}
            Err(BoardError::BadLine) => {
                defmt::error!("buttons: a line that is not a step (src/script.rs)");
                return Err(4);
            }
            Err(BoardError::Serial(_)) => defmt::warn!("buttons: UART0 overrun, a line was dropped"),
            Err(BoardError::FirstLineDropped) => {
                defmt::warn!(
                    "buttons: dropped a first line that is not a step (the tail of one sent before boot)"
                );
            }
        }
        while let Some(step) = self.panel.next_due(now) {
            match step {
                Step::Hold { held: h, .. } => held.set(h),
                Step::End { .. } => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Serves a command typed on the console, if one is complete; returns 1 if it failed.
    fn serve_console(&mut self, kiosk: &mut BoardKiosk, now: u32) -> u32 {
        let command = match self.console.poll() {
            Ok(Some(command)) => command,
            Ok(None) => return 0,
            Err(_) => {
                defmt::warn!("console: UART1 overrun, a line was dropped");
                return 0;
            }
        };
        let console = &mut self.console;
        match command {
            Command::Export => match kiosk.on_gesture(Gesture::Staff, now) {
                Event::ExportRequested => return export(kiosk, console),
                _ => {
                    let _ = console.line("export: not now, a response is in progress");
                }
            },
            Command::Status => {
                let key = kiosk.key().map(Key::id);
                let _ = console.status(kiosk.tally().counters(), kiosk.sequence(), key);
            }
            Command::Help => {
                let _ = console.line(console::HELP);
            }
            Command::Hang if self.hooks.hang_command => hang(),
            Command::Hang | Command::Unknown => {
                let _ = console.line("unknown command; commands: export, status, help");
            }
        }
        0
    }
}

/// The test hook: stops feeding the watchdog, as a kiosk stuck waiting for something would.
fn hang() -> ! {
    defmt::warn!("console: hang (test hook): the watchdog is no longer fed");
    loop {
        cortex_m::asm::wfi();
    }
}

/// Handles one gesture; returns 1 if it failed.
fn handle(kiosk: &mut BoardKiosk, console: &mut Console<Uart>, gesture: Gesture, now: u32) -> u32 {
    let start = clock::raw();
    let event = kiosk.on_gesture(gesture, now);
    let ticks = clock::ticks_since(start);
    match event {
        Event::Started => defmt::info!("response started"),
        Event::Committed => defmt::info!(
            "response committed and saved in {=u32} timer ticks (x40 = instructions under -icount shift=0)",
            ticks
        ),
        Event::Rejected => defmt::warn!("submission rejected as implausibly fast"),
        Event::Abandoned => defmt::info!("response abandoned"),
        Event::Ignored => defmt::debug!("press ignored"),
        Event::ExportRequested => return export(kiosk, console),
        Event::Failed(_) => {
            defmt::error!("action failed: not stored");
            return 1;
        }
        Event::None => {}
    }
    0
}

/// Writes a signed export to the console, one line; returns 1 if it failed. A kiosk without a
/// key writes no export, only a console line that says why.
fn export(kiosk: &mut BoardKiosk, console: &mut Console<Uart>) -> u32 {
    let start = clock::raw();
    let mut sink = ExportSink { uart: console.serial_mut(), since_feed: 0 };
    let written = kiosk.export(&mut sink);
    if let Err(Failure::NotProvisioned(e)) = written {
        let _ = console.export_refused(e);
        defmt::error!("export refused: not provisioned: {}", defmt::Display2Format(&e));
        return 1;
    }
    let ended = sink.write_all(b"\n");
    let ticks = clock::ticks_since(start);
    match (written, ended) {
        (Ok(seq), Ok(())) => {
            defmt::info!(
                "export {=u32} signed and written to the console (UART1) in {=u32} timer ticks (x40 = instructions under -icount shift=0)",
                seq,
                ticks
            );
            0
        }
        _ => {
            let _ = console.line("export failed");
            defmt::error!("export failed");
            1
        }
    }
}

/// The console's UART as the export's sink. It feeds the watchdog every KiB: a long export
/// over a slow line is work, not a hang.
struct ExportSink<'a> {
    uart: &'a mut Uart,
    since_feed: usize,
}

impl Sink for ExportSink<'_> {
    type Error = UartError;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), UartError> {
        self.since_feed += bytes.len();
        if self.since_feed >= 1024 {
            self.since_feed = 0;
            watchdog::feed();
        }
        embedded_io::Write::write_all(self.uart, bytes)
    }
}
