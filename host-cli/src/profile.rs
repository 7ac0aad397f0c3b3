//! Method profiles: every parameter method.md marks (profile), in a named TOML file.
//!
//! `npsp-2024` is built in; `--method FILE` loads another; `surveybench method show` prints the
//! built-in one as a file to edit.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// How standardisation weights are formed (method.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightScope {
    /// One weight per respondent per question, from that question's respondents (default).
    PerQuestion,
}

/// Standard error of a trust score (method.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeMethod {
    /// Taylor linearisation, as R `survey::svymean` with weights only.
    Linearised,
}

/// Every (profile) parameter of method.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile name, e.g. `npsp-2024`.
    pub name: String,
    /// Lower bounds of the age bands in years (§3); must equal the instrument's.
    pub age_bands: Vec<u8>,
    /// Suppression (§5).
    pub suppression: Suppression,
    /// Standardisation weights (§4).
    pub standardisation: Standardisation,
    /// Section scores (§6).
    pub section: SectionRules,
    /// Expected range banding (§8).
    pub expected_range: ExpectedRange,
    /// Change over time (§9).
    pub change: Change,
    /// In-year early warning (§12); a profile without it gets the built-in one.
    #[serde(default = "Monitor::npsp_2024")]
    pub monitor: Monitor,
}

/// Suppression of small counts (method.md §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// A trust with fewer scored respondents on a question gets no score, band or change.
    pub min_respondents: u32,
}

/// Standardisation (method.md §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standardisation {
    /// Largest weight a respondent can get.
    pub weight_cap: f64,
    /// Weight of respondents in the unknown stratum (left out of the shares).
    pub unknown_stratum_weight: f64,
    /// How weights are formed.
    pub weights: WeightScope,
    /// Standard error method (§5).
    pub se: SeMethod,
}

/// Section scores (method.md §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionRules {
    /// Suppress a trust's section score when any of its questions is suppressed.
    pub suppress_if_any_question_suppressed: bool,
    /// Count the covariance between questions answered by the same respondents; `false`
    /// assumes independence (C = 0).
    pub covariance: bool,
}

/// Expected range banding (method.md §8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRange {
    /// Lower winsorisation percentile of z (R `quantile` type 7).
    pub winsor_lower: f64,
    /// Upper winsorisation percentile of z.
    pub winsor_upper: f64,
    /// |z| above this: "somewhat better/worse than expected".
    pub z_somewhat: f64,
    /// |z| above this: "better/worse than expected".
    pub z_clear: f64,
    /// |z| above this: "much better/worse than expected".
    pub z_much: f64,
}

/// Change over time (method.md §9).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// |t| above this is an increase or decrease.
    pub z: f64,
}

/// The sequential boundary of in-year monitoring (method.md §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spending {
    /// Lan-DeMets O'Brien-Fleming alpha spending in its continuous-monitoring limit: a
    /// constant boundary on the Brownian-motion scale, valid for any number of looks.
    ObrienFlemingContinuous,
}

/// In-year early warning against last year's expected range (method.md §12).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// Largest chance, per trust and item whose score is in line with last year's expected
    /// range, of being flagged at any look of the year, however many looks there are.
    pub alpha: f64,
    /// How the boundary spends alpha over the year.
    pub spending: Spending,
}

impl Monitor {
    /// npsp-2024's: alpha 0.05, O'Brien-Fleming-type spending.
    #[must_use]
    pub fn npsp_2024() -> Self {
        Self { alpha: 0.05, spending: Spending::ObrienFlemingContinuous }
    }
}

impl Profile {
    /// The built-in `npsp-2024` profile, method.md's defaults.
    #[must_use]
    pub fn npsp_2024() -> Self {
        Self {
            name: "npsp-2024".to_owned(),
            age_bands: vec![16, 36, 51, 66],
            suppression: Suppression { min_respondents: 30 },
            standardisation: Standardisation {
                weight_cap: 5.0,
                unknown_stratum_weight: 1.0,
                weights: WeightScope::PerQuestion,
                se: SeMethod::Linearised,
            },
            section: SectionRules { suppress_if_any_question_suppressed: true, covariance: true },
            expected_range: ExpectedRange {
                winsor_lower: 0.10,
                winsor_upper: 0.90,
                z_somewhat: 1.645,
                z_clear: 1.96,
                z_much: 2.576,
            },
            change: Change { z: 1.96 },
            monitor: Monitor::npsp_2024(),
        }
    }

    /// The profile as TOML, with a header comment.
    ///
    /// # Errors
    /// Only if serialisation fails.
    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string_pretty(self)?;
        Ok(format!(
            "# surveybench method profile: every (profile) parameter of the method.\n\
             # Edit and pass with --method FILE.\n{body}"
        ))
    }

    /// Loads and checks a profile file.
    ///
    /// # Errors
    /// Unreadable file, bad TOML (with its location), or values out of range.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses and checks a profile from TOML text.
    ///
    /// # Errors
    /// Bad TOML (with its location), or values out of range.
    pub fn parse(text: &str) -> Result<Self> {
        let profile: Profile = toml::from_str(text).context("not a method profile")?;
        profile.check()?;
        Ok(profile)
    }

    /// Checks that values are in range.
    ///
    /// # Errors
    /// The first value out of range.
    pub fn check(&self) -> Result<()> {
        let e = &self.expected_range;
        let s = &self.standardisation;
        let floats = [
            e.winsor_lower,
            e.winsor_upper,
            e.z_somewhat,
            e.z_clear,
            e.z_much,
            s.weight_cap,
            s.unknown_stratum_weight,
            self.change.z,
        ];
        if floats.iter().any(|x| !x.is_finite()) {
            bail!("every number in a profile must be finite");
        }
        if s.unknown_stratum_weight > s.weight_cap {
            bail!("standardisation: unknown_stratum_weight must not exceed weight_cap");
        }
        if !(0.0..0.5).contains(&e.winsor_lower) || !(0.5..=1.0).contains(&e.winsor_upper) {
            bail!("expected_range: winsor_lower must be in [0, 0.5) and winsor_upper in [0.5, 1]");
        }
        if !(0.0 < e.z_somewhat && e.z_somewhat < e.z_clear && e.z_clear < e.z_much) {
            bail!("expected_range: need 0 < z_somewhat < z_clear < z_much");
        }
        if s.weight_cap.is_nan()
            || s.weight_cap < 1.0
            || s.unknown_stratum_weight.is_nan()
            || s.unknown_stratum_weight <= 0.0
        {
            bail!("standardisation: weight_cap must be >= 1 and unknown_stratum_weight > 0");
        }
        if self.change.z.is_nan() || self.change.z <= 0.0 {
            bail!("change: z must be > 0");
        }
        if !(self.monitor.alpha > 0.0 && self.monitor.alpha < 0.5) {
            bail!("monitor: alpha must be in (0, 0.5)");
        }
        if self.suppression.min_respondents < 2 {
            bail!("suppression: min_respondents must be at least 2 (a standard error needs two)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_profile_round_trips_through_toml() {
        let p = Profile::npsp_2024();
        let text = p.to_toml().unwrap();
        let back: Profile = toml::from_str(&text).unwrap();
        assert_eq!(back, p);
        back.check().unwrap();
    }

    /// Regression: an infinite weight passed the check and made every score NaN.
    #[test]
    fn infinite_or_oversized_weights_are_rejected() {
        let mut p = Profile::npsp_2024();
        p.standardisation.unknown_stratum_weight = f64::INFINITY;
        assert!(p.check().is_err());
        p.standardisation.unknown_stratum_weight = 6.0;
        assert!(p.check().is_err(), "above the cap of 5");
    }

    /// A profile file written before monitoring existed still loads, with the built-in alpha.
    #[test]
    fn a_profile_without_a_monitor_section_gets_the_builtin_one() {
        let text = Profile::npsp_2024().to_toml().unwrap();
        let cut = text.find("[monitor]").unwrap();
        let old = Profile::parse(&text[..cut]).unwrap();
        assert_eq!(old.monitor, Monitor::npsp_2024());
        let mut p = Profile::npsp_2024();
        p.monitor.alpha = 0.5;
        assert!(p.check().is_err());
    }

    #[test]
    fn out_of_order_thresholds_are_rejected() {
        let mut p = Profile::npsp_2024();
        p.expected_range.z_clear = 3.0;
        assert!(p.check().is_err());
    }

    #[test]
    fn unsupported_weight_scopes_are_rejected_by_name() {
        let text = Profile::npsp_2024().to_toml().unwrap().replace("per-question", "per-respondent");
        let err = toml::from_str::<Profile>(&text).unwrap_err().to_string();
        assert!(err.contains("per-respondent"), "{err}");
    }
}
