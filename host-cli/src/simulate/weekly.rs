//! A year of weekly kiosk exports for the later year, and the trusts degraded from a chosen
//! week (docs/design.md, "Why this simulation?"; docs/formats.md §13).

use std::path::{Path, PathBuf};

/// Weeks in a simulated year.
pub const WEEKS: u8 = 52;

/// What `simulate --weekly` adds.
#[derive(Clone, Debug, Default)]
pub struct Weekly {
    /// Trusts whose respondents are degraded after a week, if any.
    pub degrade: Option<Degrade>,
}

/// Trusts whose true scores drop after a week.
#[derive(Clone, Debug)]
pub struct Degrade {
    /// Trust codes, as `simulate` names them.
    pub trusts: Vec<String>,
    /// Respondents after this week (1 to [`WEEKS`]) are degraded.
    pub from_week: u32,
    /// How far each scored question's true score drops, in points on the 0-10 scale.
    pub points: f64,
}

/// Why `simulate` cannot make the weekly exports asked for.
#[derive(Debug, thiserror::Error)]
pub enum CannotDegrade {
    /// A trust code `simulate` does not make with this `--trusts`.
    #[error("--degrade {asked}: no simulated trust has that code; with these flags the trusts are {known}")]
    UnknownTrust {
        /// The code asked for.
        asked: String,
        /// The codes there are, comma-separated.
        known: String,
    },
    /// No trust code given.
    #[error("--degrade needs at least one trust code")]
    NoTrust,
    /// The week is outside the year.
    #[error("--from-week {0}: the week must be 1 to {WEEKS}")]
    Week(u32),
    /// The drop is not a number of points the 0-10 scale can give.
    #[error("--by {0}: the drop must be more than 0 and at most 10 points")]
    Points(f64),
}

/// Checks `weekly` against the trust codes `codes` the simulation makes.
///
/// # Errors
/// [`CannotDegrade`], naming the flag and value at fault.
pub fn check(weekly: &Weekly, codes: &[String]) -> Result<(), CannotDegrade> {
    let Some(d) = &weekly.degrade else { return Ok(()) };
    if d.trusts.is_empty() {
        return Err(CannotDegrade::NoTrust);
    }
    if let Some(asked) = d.trusts.iter().find(|t| !codes.contains(t)) {
        let known = if codes.len() > 12 {
            format!("{}, ... ({} in all)", codes[..12].join(", "), codes.len())
        } else {
            codes.join(", ")
        };
        return Err(CannotDegrade::UnknownTrust { asked: asked.clone(), known });
    }
    if !(1..=u32::from(WEEKS)).contains(&d.from_week) {
        return Err(CannotDegrade::Week(d.from_week));
    }
    if !(d.points > 0.0 && d.points <= 10.0) {
        return Err(CannotDegrade::Points(d.points));
    }
    Ok(())
}

/// The week (1 to [`WEEKS`]) of a trust's respondent `i` of `n`: respondents are spread
/// evenly over the year in the order they are drawn.
#[must_use]
pub fn week_of(i: usize, n: usize) -> u32 {
    let week = i.saturating_mul(usize::from(WEEKS)) / n.max(1);
    u32::try_from(week).map_or(u32::from(WEEKS), |w| w.min(u32::from(WEEKS) - 1)) + 1
}

/// The folder of week `week`'s kiosk exports under a year's folder: `weeks/NN/devices`.
#[must_use]
pub fn devices(year_dir: &Path, week: u32) -> PathBuf {
    year_dir.join("weeks").join(format!("{week:02}")).join("devices")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respondents_spread_evenly_over_the_weeks_in_order() {
        assert_eq!(week_of(0, 520), 1);
        assert_eq!(week_of(9, 520), 1);
        assert_eq!(week_of(10, 520), 2);
        assert_eq!(week_of(519, 520), 52);
        assert_eq!(week_of(0, 1), 1);
        let weeks: Vec<u32> = (0..40).map(|i| week_of(i, 40)).collect();
        // With fewer respondents than weeks some weeks get none: 39 of 40 is in week floor(52 x 39 / 40) + 1.
        assert!(weeks.windows(2).all(|w| w[0] <= w[1]) && weeks[39] == 51);
    }

    #[test]
    fn unknown_trusts_weeks_outside_the_year_and_impossible_drops_are_refused() {
        let codes = vec!["RT5".to_owned(), "RX1".to_owned()];
        let asked = |t: &str, w, p| Weekly {
            degrade: Some(Degrade { trusts: vec![t.to_owned()], from_week: w, points: p }),
        };
        assert!(check(&asked("RT5", 26, 1.0), &codes).is_ok());
        let e = check(&asked("RZZ", 26, 1.0), &codes).unwrap_err().to_string();
        assert!(e.contains("RZZ") && e.contains("RT5, RX1"), "{e}");
        assert!(matches!(check(&asked("RT5", 0, 1.0), &codes), Err(CannotDegrade::Week(0))));
        assert!(matches!(check(&asked("RT5", 53, 1.0), &codes), Err(CannotDegrade::Week(53))));
        assert!(matches!(check(&asked("RT5", 5, 0.0), &codes), Err(CannotDegrade::Points(_))));
    }
}
