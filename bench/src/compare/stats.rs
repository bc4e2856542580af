//! The statistics of `compare`: the median and range of a figure over the
//! rounds, percentiles, and ratios against kafkit.

/// Median, minimum and maximum of one figure over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many values went in.
    pub n: usize,
}

impl Spread {
    /// The spread of `values`, or `None` when there are none. NaN values
    /// are left out.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        Some(Spread {
            median: median_of_sorted(&v),
            min: v[0],
            max: v[v.len() - 1],
            n: v.len(),
        })
    }
}

/// The median of sorted, non-empty `v` (the mean of the two middle values
/// when their number is even).
fn median_of_sorted(v: &[f64]) -> f64 {
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The `p`-th percentile (0 to 100) of sorted `v`, by linear interpolation
/// between the closest ranks; `None` when `v` is empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// `value` relative to `reference` (1.0: the same; 2.0: twice as much), or
/// `None` when the reference is not a positive number.
pub fn ratio(value: f64, reference: f64) -> Option<f64> {
    (reference > 0.0 && reference.is_finite() && value.is_finite()).then(|| value / reference)
}

/// The highest of `values` that are not NaN.
pub fn best(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    values
        .into_iter()
        .filter(|x| !x.is_nan())
        .max_by(|a, b| a.total_cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_an_odd_and_an_even_number_of_values() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.5, 1.0, 4.0, 4));
        let s = Spread::of(&[7.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (7.0, 7.0, 7.0));
    }

    #[test]
    fn no_values_no_spread_and_nan_is_left_out() {
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
        assert_eq!(Spread::of(&[f64::NAN, 5.0]).map(|s| s.median), Some(5.0));
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 50.0), Some(51.0));
        assert_eq!(percentile(&v, 99.0), Some(100.0));
        assert_eq!(percentile(&v, 100.0), Some(101.0));
        let two = [10.0, 20.0];
        assert_eq!(percentile(&two, 50.0), Some(15.0));
        let p999 = percentile(&two, 99.9).unwrap();
        assert!((p999 - 19.99).abs() < 1e-9, "{p999}");
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[3.0], 99.9), Some(3.0));
    }

    #[test]
    fn ratios_need_a_positive_reference() {
        assert_eq!(ratio(50.0, 100.0), Some(0.5));
        assert_eq!(ratio(50.0, 0.0), None);
        assert_eq!(ratio(50.0, -1.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    #[test]
    fn best_skips_nan() {
        assert_eq!(best([1.0, f64::NAN, 3.0, 2.0]), Some(3.0));
        assert_eq!(best(std::iter::empty()), None);
    }
}
