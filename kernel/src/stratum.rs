//! Standardisation strata: age band x sex, plus one unknown stratum (method.md §3).

use core::fmt;

/// Most age bands a scheme may have; with two sexes and the unknown stratum this bounds the
/// number of strata at [`MAX_STRATA`].
pub const MAX_AGE_BANDS: usize = 8;

/// Most strata any tally can hold: two sexes per age band, plus unknown.
pub const MAX_STRATA: usize = 2 * MAX_AGE_BANDS + 1;

/// Sex at birth as the survey records it (method.md §3): anything but male or female, or a
/// missing answer, puts the respondent in the unknown stratum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Sex {
    /// Code 1.
    Male,
    /// Code 2.
    Female,
    /// Intersex (3), prefer not to say (4), any other code, or no answer.
    Unknown,
}

impl Sex {
    /// The sex for an answer code of the survey's sex question (1 male, 2 female).
    #[must_use]
    pub const fn from_code(code: Option<u8>) -> Self {
        match code {
            Some(1) => Sex::Male,
            Some(2) => Sex::Female,
            _ => Sex::Unknown,
        }
    }
}

/// A stratum index: `2 * band + sex` for known strata, and the last index for unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stratum(pub u8);

impl Stratum {
    /// The stratum of a respondent in `band` (0-based) of `bands` age bands, with `sex`.
    /// Unknown sex, a missing band or a band outside the scheme gives the unknown stratum.
    #[must_use]
    pub const fn new(band: Option<u8>, sex: Sex, bands: u8) -> Self {
        let unknown = Stratum::unknown(bands);
        match (band, sex) {
            (Some(b), Sex::Male) if b < bands => Stratum(b.saturating_mul(2)),
            (Some(b), Sex::Female) if b < bands => Stratum(b.saturating_mul(2).saturating_add(1)),
            _ => unknown,
        }
    }

    /// The unknown stratum of a scheme with `bands` age bands.
    #[must_use]
    pub const fn unknown(bands: u8) -> Self {
        Stratum(bands.saturating_mul(2))
    }

    /// Whether this is the unknown stratum of a scheme with `bands` age bands.
    #[must_use]
    pub const fn is_unknown(self, bands: u8) -> bool {
        self.0 >= bands.saturating_mul(2)
    }

    /// The index, for slices of per-stratum values.
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Number of strata for a scheme with `bands` age bands: two sexes each, plus unknown.
#[must_use]
pub const fn strata_count(bands: usize) -> usize {
    bands.saturating_mul(2).saturating_add(1)
}

/// The 0-based age band of `age` years, given ascending lower bounds (method.md §3, profile).
/// `None` when younger than the first bound.
#[must_use]
pub fn age_band(age: u16, lower_bounds: &[u8]) -> Option<u8> {
    let mut band = None;
    for (i, &lower) in lower_bounds.iter().enumerate() {
        if age >= u16::from(lower) {
            band = u8::try_from(i).ok();
        }
    }
    band
}

impl fmt::Display for Stratum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stratum {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strata_follow_band_and_sex() {
        assert_eq!(Stratum::new(Some(0), Sex::Male, 4), Stratum(0));
        assert_eq!(Stratum::new(Some(3), Sex::Female, 4), Stratum(7));
        assert_eq!(Stratum::new(Some(2), Sex::Unknown, 4), Stratum(8));
        assert_eq!(Stratum::new(None, Sex::Male, 4), Stratum(8));
        assert_eq!(Stratum::new(Some(4), Sex::Male, 4), Stratum(8), "band outside the scheme");
        assert!(Stratum(8).is_unknown(4));
        assert_eq!(strata_count(4), 9);
    }

    #[test]
    fn age_bands_use_lower_bounds() {
        let bounds = [16, 36, 51, 66];
        assert_eq!(age_band(15, &bounds), None);
        assert_eq!(age_band(16, &bounds), Some(0));
        assert_eq!(age_band(35, &bounds), Some(0));
        assert_eq!(age_band(36, &bounds), Some(1));
        assert_eq!(age_band(65, &bounds), Some(2));
        assert_eq!(age_band(66, &bounds), Some(3));
        assert_eq!(age_band(104, &bounds), Some(3));
    }

    #[test]
    fn sex_codes_map_as_the_survey_defines() {
        assert_eq!(Sex::from_code(Some(1)), Sex::Male);
        assert_eq!(Sex::from_code(Some(2)), Sex::Female);
        assert_eq!(Sex::from_code(Some(3)), Sex::Unknown);
        assert_eq!(Sex::from_code(Some(4)), Sex::Unknown);
        assert_eq!(Sex::from_code(None), Sex::Unknown);
    }
}
