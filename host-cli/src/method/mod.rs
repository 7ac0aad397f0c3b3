//! The benchmarking method of method.md §4-§10, one module per concern.

pub mod change;
pub mod expected_range;
pub mod headline;
pub mod score;
pub mod sequential;
pub mod standardise;

/// A difference over its spread, the z or t of method.md §8 step 5 and §9: with no spread at
/// all, 0 for no difference and an infinity of the difference's sign otherwise; never -0.0
/// (a value exactly at its reference reads 0 in the JSON).
#[must_use]
pub fn standardised(diff: f64, spread: f64) -> f64 {
    let z = if spread > 0.0 {
        diff / spread
    } else if diff == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(diff)
    };
    z + 0.0
}

#[cfg(test)]
mod tests {
    use super::standardised;

    #[test]
    fn no_spread_gives_zero_or_a_signed_infinity_and_never_minus_zero() {
        assert_eq!(standardised(-2.0, 1.0), -2.0);
        assert_eq!(standardised(0.0, 0.0), 0.0);
        assert!(standardised(-0.0, 1.0).is_sign_positive());
        assert_eq!(standardised(0.5, 0.0), f64::INFINITY);
        assert_eq!(standardised(-0.5, 0.0), f64::NEG_INFINITY);
    }
}
