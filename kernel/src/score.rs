//! Score units: the exact integer form of a 0-10 score (method.md §2).
//!
//! Every score the programme uses is a whole number of tenths-of-sixty: 10 is 60 units, 7.5 is
//! 45, 6.67 is 40, 5 is 30, 3.33 is 20, 2.5 is 15 and a 0-10 rating is 6 units a point. Kept as
//! integers, every sum on the device is exact.

/// Score units in one point of the 0-10 scale.
pub const UNITS_PER_POINT: u8 = 6;

/// The best score, 10 points, in score units.
pub const MAX_UNITS: u8 = 60;

/// Converts score units to points on the 0-10 scale (method.md §2).
#[must_use]
pub fn units_to_points(units: u8) -> f64 {
    f64::from(units) / f64::from(UNITS_PER_POINT)
}

/// The scores, in units, of `n` equally spaced options from best (10) to worst (0), as
/// method.md §2 prescribes (2 options 10/0, 3 options 10/5/0, 4 options 10/6.67/3.33/0, 5
/// options 10/7.5/5/2.5/0). `None` when 60 is not divisible into `n - 1` equal steps.
#[must_use]
pub const fn equally_spaced(position: u8, n: u8) -> Option<u8> {
    if n < 2 || position >= n {
        return None;
    }
    let steps = n.saturating_sub(1);
    if !MAX_UNITS.is_multiple_of(steps) {
        return None;
    }
    let Some(step) = MAX_UNITS.checked_div(steps) else {
        return None;
    };
    // position < n, so position * step <= 60: no overflow or underflow.
    Some(MAX_UNITS.saturating_sub(position.saturating_mul(step)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equally_spaced_matches_the_published_scales() {
        let scale = |n| (0..n).map(|p| equally_spaced(p, n)).collect::<Vec<_>>();
        assert_eq!(scale(2), [Some(60), Some(0)]);
        assert_eq!(scale(3), [Some(60), Some(30), Some(0)]);
        assert_eq!(scale(4), [Some(60), Some(40), Some(20), Some(0)]);
        assert_eq!(scale(5), [Some(60), Some(45), Some(30), Some(15), Some(0)]);
        assert_eq!(equally_spaced(0, 8), None, "60 does not split into 7 equal steps");
        assert_eq!(equally_spaced(3, 3), None);
    }

    #[test]
    fn units_convert_to_points() {
        assert!((units_to_points(40) - 20.0 / 3.0).abs() < 1e-12);
        assert_eq!(units_to_points(45), 7.5);
    }
}
