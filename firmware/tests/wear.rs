//! Flash wear (issue 10, deliverable 7): erase cycles per committed response of the default
//! layout, on both instruments, and the years a 10,000-cycle NOR part lasts at 200 responses a
//! day. Counted on the host flash model, which counts every sector erase; the goal is >= 10
//! years (docs/design.md, "Why a journal over snapshots?").

mod common;

use common::{CutFlash, SECTOR};
use surveybench_firmware::script::SplitMix as Rng;
use surveybench_firmware::storage::{Event, Layout, Store};
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_kernel::{Instrument, Response, Tally};

/// Rated erase cycles of a common NOR part.
const CYCLES: f64 = 10_000.0;
/// Responses a busy kiosk takes in a day.
const PER_DAY: f64 = 200.0;

/// Commits `n` random responses through the store; returns the most erases any sector took.
fn most_erases<const Q: usize, const C: usize, const P: usize>(
    instrument: &'static Instrument<'static>,
    n: u32,
) -> u32 {
    let layout = Layout::of(instrument, SECTOR);
    let mut store = Store::new(CutFlash::new(layout.bytes()), 0, layout).unwrap();
    let mut tally: Box<Tally<'static, Q, C, P>> = Box::new(Tally::new(instrument).unwrap());
    let mut response: Response<'_, 64> = Response::new(instrument).unwrap();
    store.recover(&mut *tally, &mut response).unwrap();
    let boot = store.flash_mut().erases.clone();
    let mut rng = Rng(9);
    for _ in 0..n {
        response.reset();
        for (q, question) in instrument.questions.iter().enumerate() {
            response.answer(q, question.options[rng.below(question.options.len())].code).unwrap();
        }
        store.save(&*tally, Event::Commit(&response)).unwrap();
        tally.commit(&response).unwrap();
    }
    let erases = &store.flash_mut().erases;
    erases.iter().zip(&boot).map(|(now, at_boot)| now - at_boot).max().unwrap()
}

fn years(instrument: &'static Instrument<'static>, most: u32, n: u32) -> f64 {
    let per_response = f64::from(most) / f64::from(n);
    let years = CYCLES / (per_response * PER_DAY * 365.0);
    let layout = Layout::of(instrument, SECTOR);
    eprintln!(
        "wear: {}: {} B region ({} B slots, {} B journal of {} records of {} B); {n} responses: at most {most} \
         erases of one sector = {per_response:.5} cycles per response; {years:.1} years at 200 a day",
        instrument.id,
        layout.bytes(),
        layout.slot_len,
        layout.journal_len,
        layout.records(),
        layout.record_len
    );
    years
}

#[test]
fn the_flash_lasts_ten_years_at_two_hundred_responses_a_day() {
    const N: u32 = 4_000;
    let cmh = most_erases::<44, 1350, 441>(&CMH_2024, N);
    let fft = most_erases::<3, 54, 0>(&FFT, N);
    assert!(years(&CMH_2024, cmh, N) >= 10.0);
    assert!(years(&FFT, fft, N) >= 10.0);
}
