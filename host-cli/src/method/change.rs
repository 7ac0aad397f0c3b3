//! Change over time between two survey years (method.md §9).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::profile::Change as Rules;

/// The significance label of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Significantly higher than the previous year.
    Increase,
    /// Significantly lower.
    Decrease,
    /// Not significantly different.
    NoChange,
}

impl Direction {
    /// The label as the report words it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Direction::Increase => "Increase",
            Direction::Decrease => "Decrease",
            Direction::NoChange => "No change",
        }
    }
}

/// A tested change of one score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Last year's score.
    pub previous: f64,
    /// t = (now - before) / sqrt(se_now^2 + se_before^2).
    pub statistic: f64,
    /// Two-sided p-value of t under the standard normal (statrs).
    pub p_value: f64,
    /// Increase, decrease or no change at the profile's |t| threshold.
    pub direction: Direction,
}

/// Tests `now` against `before`, each `(score, se)` (method.md §9).
#[must_use]
pub fn test(now: (f64, f64), before: (f64, f64), rules: &Rules) -> Change {
    let diff = now.0 - before.0;
    let d = (now.1 * now.1 + before.1 * before.1).sqrt();
    let t = super::standardised(diff, d);
    let direction = match (t.abs() > rules.z, t > 0.0) {
        (true, true) => Direction::Increase,
        (true, false) => Direction::Decrease,
        _ => Direction::NoChange,
    };
    let p_value = Normal::standard().sf(t.abs()) * 2.0;
    Change { previous: before.0, statistic: t, p_value, direction }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    #[test]
    fn changes_are_tested_on_the_combined_se() {
        let r = Profile::npsp_2024().change;
        // (7.0 - 6.0) / sqrt(0.3^2 + 0.4^2) = 1 / 0.5 = 2 > 1.96.
        let c = test((7.0, 0.3), (6.0, 0.4), &r);
        assert!((c.statistic - 2.0).abs() < 1e-12);
        assert_eq!(c.direction, Direction::Increase);
        // Two-sided p of z = 2 is 0.04550026389635842 (R: 2*pnorm(-2)); statrs's erfc is good
        // to about 1e-10 relative here, ample for a p-value printed to a few digits.
        let exact = 0.045_500_263_896_358_42;
        assert!(((c.p_value - exact) / exact).abs() < 1e-9, "{}", c.p_value);
        assert_eq!(test((6.0, 0.3), (7.0, 0.4), &r).direction, Direction::Decrease);
        assert_eq!(test((6.5, 0.3), (6.0, 0.4), &r).direction, Direction::NoChange);
    }
}
