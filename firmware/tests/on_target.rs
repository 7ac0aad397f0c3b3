//! On-target unit tests (defmt-test) under QEMU: the FPU, the RAM-backed flash, storage, the
//! tally built in place and the streaming export as compiled for the Cortex-M4F, the signing
//! key with salty's Cortex-M4 assembly (the host tests run its portable code), and the board's
//! APB timer clock, FPGAIO LEDs and UART. On the host this is an empty program.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

/// `N` bytes from `2N` hex digits (a test's known answers).
#[cfg(target_os = "none")]
fn unhex<const N: usize>(digits: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
        let nibble = |d: u8| (d as char).to_digit(16).unwrap() as u8;
        *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    out
}

#[cfg(target_os = "none")]
#[defmt_test::tests]
mod tests {
    use embedded_hal::delay::DelayNs;
    use embedded_hal::digital::OutputPin;
    use embedded_io::{Write, WriteReady};
    use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
    use surveybench_firmware::board::clock::Clock;
    use surveybench_firmware::board::leds::FpgaLed;
    use surveybench_firmware::board::uart::Uart;
    use surveybench_firmware::board::{RamFlash, SECTOR};
    use surveybench_firmware::key::Key;
    use surveybench_firmware::storage::{Event, Layout, MappedFlash, Store};
    use surveybench_kernel::crc::crc32;
    use surveybench_kernel::export::signed::Signer;
    use surveybench_kernel::export::{self, Header, Sink, stream};
    use surveybench_kernel::provision::{Provision, ProvisionError};
    use surveybench_kernel::{Response, Tally, bundled};

    use super::unhex;

    struct State {
        flash: Option<RamFlash>,
    }

    #[init]
    fn init() -> State {
        State { flash: RamFlash::take() }
    }

    #[test]
    #[allow(unsafe_code, reason = "reads the CPACR register")]
    fn fpu_is_enabled() {
        // CPACR: CP10 and CP11 full access, as cortex-m-rt sets it for eabihf targets.
        // SAFETY: CPACR is a readable System Control Block register on every Cortex-M4F.
        let cpacr = unsafe { core::ptr::read_volatile(0xE000_ED88 as *const u32) };
        defmt::assert_eq!((cpacr >> 20) & 0xF, 0xF);
        let x = core::hint::black_box(1.5f32);
        defmt::assert_eq!(x * 2.0, 3.0);
    }

    #[test]
    fn the_timer_clock_counts_milliseconds_and_delays() {
        let mut clock = Clock::start().unwrap();
        defmt::assert!(Clock::start().is_none(), "one clock");
        let before = clock.now_ms();
        clock.delay_ms(3);
        let after = clock.now_ms();
        defmt::assert!(after.wrapping_sub(before) >= 3, "{=u32} -> {=u32}", before, after);
        defmt::assert!(after.wrapping_sub(before) < 100, "{=u32} -> {=u32}", before, after);
        clock.delay_us(1);
    }

    #[test]
    fn the_leds_are_bits_of_the_fpgaio_led0_register() {
        let (mut green, mut red) = (FpgaLed::green(), FpgaLed::red());
        green.set_high().unwrap();
        red.set_low().unwrap();
        defmt::assert!(green.is_on() && !red.is_on());
        red.set_high().unwrap();
        green.set_low().unwrap();
        defmt::assert!(!green.is_on() && red.is_on());
        red.set_low().unwrap();
        defmt::assert!(!red.is_on());
    }

    #[test]
    fn uart1_takes_bytes() {
        let mut uart = Uart::uart1().unwrap();
        defmt::assert!(Uart::uart1().is_none(), "one UART1");
        uart.write_all(b"on-target test: UART1 writes\n").unwrap();
        uart.flush().unwrap();
        defmt::assert!(uart.write_ready().unwrap());
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        defmt::assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn ram_flash_behaves_as_nor(state: &mut State) {
        let flash = state.flash.as_mut().unwrap();
        flash.erase(0, SECTOR as u32).unwrap();
        flash.write(0, &[0xF0, 0x0F, 0xAA, 0x55]).unwrap();
        flash.write(0, &[0xCC, 0xFF, 0xFF, 0xFF]).unwrap(); // a write only clears bits
        let mut back = [0u8; 4];
        flash.read(0, &mut back).unwrap();
        defmt::assert_eq!(back, [0xC0, 0x0F, 0xAA, 0x55]);
        defmt::assert!(flash.write(1, &[0; 4]).is_err()); // unaligned
        defmt::assert_eq!(flash.mapped()[4], 0xFF);
    }

    #[test]
    fn a_saved_tally_is_recovered(state: &mut State) {
        let flash = state.flash.take().unwrap();
        let layout = Layout::of(&bundled::FFT, SECTOR);
        let mut store = Store::new(flash, 0, layout).unwrap();
        let mut tally: Tally<'_, 3, 54, 0> = Tally::new(&bundled::FFT).unwrap();
        let mut response: Response<'_, 3> = Response::new(&bundled::FFT).unwrap();
        store.recover(&mut tally, &mut response).unwrap();
        response.answer(0, 2).unwrap();
        response.answer(1, 1).unwrap();
        response.answer(2, 2).unwrap();
        store.save(&tally, Event::Commit(&response)).unwrap();
        tally.commit(&response).unwrap();
        store.save(&tally, Event::<3>::Rejected).unwrap();
        tally.record_rejected().unwrap();
        store.save(&tally, Event::<3>::Export(7)).unwrap();
        let mut again: Tally<'_, 3, 54, 0> = Tally::new(&bundled::FFT).unwrap();
        let mut store = Store::new(store.into_flash(), 0, layout).unwrap();
        let recovered = store.recover(&mut again, &mut response).unwrap();
        defmt::assert_eq!(recovered.sequence, 7);
        defmt::assert_eq!(recovered.faults, 0);
        defmt::assert_eq!(again.counts(0, 1), [0, 1, 0, 0, 0, 0]);
        defmt::assert_eq!(again.counters().rejected, 1);
        state.flash = Some(store.into_flash());
    }

    #[test]
    fn a_tally_built_in_place_counts_as_a_new_one() {
        let mut slot = core::mem::MaybeUninit::<Tally<'_, 3, 54, 0>>::uninit();
        let placed = Tally::init(&mut slot, &bundled::FFT).unwrap();
        let mut moved: Tally<'_, 3, 54, 0> = Tally::new(&bundled::FFT).unwrap();
        let mut response: Response<'_, 3> = Response::new(&bundled::FFT).unwrap();
        response.answer(0, 2).unwrap();
        response.answer(2, 1).unwrap();
        placed.commit(&response).unwrap();
        moved.commit(&response).unwrap();
        let header = Header::new("t", "RT5", "2024", 1).unwrap();
        let (mut a, mut b) = ([0u8; 1400], [0u8; 1400]);
        let n = export::encode(placed, &header, &mut a).unwrap();
        let m = export::encode(&moved, &header, &mut b).unwrap();
        defmt::assert_eq!(&a[..n], &b[..m]);
    }

    struct Bytes {
        buf: [u8; 1400],
        len: usize,
    }

    impl Sink for Bytes {
        type Error = ();
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
            let end = self.len + bytes.len();
            self.buf.get_mut(self.len..end).ok_or(())?.copy_from_slice(bytes);
            self.len = end;
            Ok(())
        }
    }

    #[test]
    fn the_stream_equals_the_kernel_encoding_on_target() {
        let mut tally: Tally<'_, 3, 54, 0> = Tally::new(&bundled::FFT).unwrap();
        let mut response: Response<'_, 3> = Response::new(&bundled::FFT).unwrap();
        response.answer(0, 1).unwrap();
        tally.commit(&response).unwrap();
        let header = Header::new("t", "RT5", "2024", 1).unwrap();
        let mut kernel = [0u8; 1400];
        let n = export::encode(&tally, &header, &mut kernel).unwrap();
        let mut streamed = Bytes { buf: [0; 1400], len: 0 };
        stream(&tally, &header, &mut streamed).unwrap();
        defmt::assert_eq!(&streamed.buf[..streamed.len], &kernel[..n]);
    }

    /// A known answer from ed25519-dalek on the host: the public key of this seed, and the
    /// Ed25519ph signature (export context) of 300 bytes `i * 31 mod 256`.
    const SEED: [u8; 32] = *b"surveybench on-target test seed!";
    const PUBLIC: &str = "41d4342bb1883507abb98f4773c365b8f255ebaeec86983875c2ce7484492da6";
    const SIGNATURE: &str = "570575e73609f88e28341517a989493cdc843afe20c2a9bae6971a0cb8c72445\
                             d664e928089061e4480be132d8424f2799f3e66ed8244e81ededffda8e3e170d";

    #[test]
    fn the_key_derives_and_signs_as_ed25519_dalek_does() {
        let image =
            Provision::new("t", "RT5", "2024", "0123456789abcdef", SEED, unhex(PUBLIC)).unwrap().encode();
        let key = Key::from_image(&image).unwrap();
        let mut signing = key.signer().unwrap();
        let mut signer = &mut signing;
        for i in 0..300u32 {
            signer.update(&[(i * 31 % 256) as u8]);
        }
        defmt::assert_eq!(signer.sign(), unhex::<64>(SIGNATURE));
        let mut other = image;
        other[160 - 40] ^= 1; // a byte of the public key, CRC fixed below
        let crc = surveybench_kernel::crc::crc32(&other[..156]);
        other[156..].copy_from_slice(&crc.to_le_bytes());
        defmt::assert!(Key::from_image(&other).err() == Some(ProvisionError::KeyMismatch));
    }
}
