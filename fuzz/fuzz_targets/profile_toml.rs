//! A method profile (`Profile::parse`, docs/formats.md §6) of arbitrary text. What it accepts
//! must print back as TOML that parses to the same profile.
#![no_main]

use libfuzzer_sys::fuzz_target;
use surveybench::profile::Profile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(profile) = Profile::parse(text) else { return };
    let printed = profile.to_toml().expect("a checked profile prints");
    let back = Profile::parse(&printed).expect("a printed profile parses");
    assert_eq!(back, profile);
});
