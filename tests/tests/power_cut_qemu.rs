//! The system-level power-cut campaign under QEMU (issue 10, deliverable 4): both instruments,
//! seeded, at least 200 kills in all (`SURVEYBENCH_CAMPAIGN_KILLS` per instrument, default 100).
//! See `surveybench_tests::campaign`.

use surveybench_kernel::Instrument;
use surveybench_kernel::bundled::{CMH_2024, FFT};
use surveybench_tests::{campaign, qemu};

fn kills() -> usize {
    std::env::var("SURVEYBENCH_CAMPAIGN_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(100)
}

fn run(elf: &std::path::Path, instrument: &'static Instrument<'static>, seed: u64) {
    let dir =
        std::env::temp_dir().join(format!("surveybench-campaign-{}-{}", instrument.id, std::process::id()));
    let out = campaign::campaign(elf, instrument, kills(), seed, &dir);
    eprintln!(
        "campaign: {}: {} kills, {} runs ended by themselves, {} restarts checked ({} kept the event in flight), \
         {} events acknowledged; every restart held exactly the acknowledged responses, no sequence repeated or went back, no fault",
        instrument.id, out.kills, out.finished, out.checked, out.in_flight_kept, out.acknowledged
    );
    // Many kills land before a short session's first export (boot, which now derives the
    // kiosk's public key, and the staff command's signed export); such a kill is still counted
    // and its segment run again. The restarts checked must still be a good share of the kills:
    // a fifth (it was a third before signing lengthened that prefix; a seeded fft campaign
    // checked 25 of 100 restarts with signing).
    assert!(out.kills >= kills() && out.checked >= out.kills / 5, "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killing_a_cmh_kiosk_at_random_instants_loses_no_acknowledged_response() {
    run(&qemu::firmware_elf().expect("firmware builds"), &CMH_2024, 2024);
}

#[test]
fn killing_an_fft_kiosk_at_random_instants_loses_no_acknowledged_response() {
    run(&qemu::fft_elf().expect("fft firmware builds"), &FFT, 2025);
}
