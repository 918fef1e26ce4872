//! Summaries of repeated measurements: percentiles of latencies, and the median with its
//! spread for repeated runs of a benchmark.
//!
//! One rule everywhere in the course, so that figures from different tools compare: the
//! q-quantile of n sorted values is the value at index `floor(n * q)` (the last one for
//! q = 1), the "nearest rank" from below. The median of an even count is then the upper of
//! the two middle values, which is what every table of the course has always shown.

use std::time::Duration;

/// The index of the q-quantile in `n` sorted values (`n > 0`).
fn rank(n: usize, q: f64) -> usize {
    ((n as f64 * q.clamp(0.0, 1.0)) as usize).min(n - 1)
}

/// Sorts `values` and returns their `q`-quantile (`q` from 0 to 1: 0.5 is the median, 0.99
/// the 99th percentile); `None` if there are none.
pub fn quantile<T: Ord + Copy>(values: &mut [T], q: f64) -> Option<T> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[rank(values.len(), q)])
}

/// The median and 99th percentile of some durations, in microseconds: (p50, p99); zeros if
/// there are none.
pub fn percentiles_us(times: &mut [Duration]) -> (f64, f64) {
    let us = |d: Option<Duration>| d.unwrap_or_default().as_secs_f64() * 1e6;
    // Sorting once is enough: the second call finds the slice sorted.
    (us(quantile(times, 0.50)), us(quantile(times, 0.99)))
}

/// Median, minimum and maximum of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The median (the upper middle value of an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, sorted in place (`f64::total_cmp`: a NaN sorts last instead of
    /// upsetting the sort); `None` if there are none.
    pub fn of(values: &mut [f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        Some(Spread {
            median: values[rank(values.len(), 0.5)],
            min: values[0],
            max: values[values.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest rank from below, on unsorted input: the median of 1..=4 is 3, p99 of 1..=100
    /// is 100, q = 1 is the largest, nothing gives `None`.
    #[test]
    fn quantiles_by_nearest_rank() {
        assert_eq!(quantile(&mut [4, 1, 3, 2], 0.5), Some(3));
        assert_eq!(quantile(&mut [5, 1, 3], 0.5), Some(3));
        let mut hundred: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(quantile(&mut hundred, 0.99), Some(100));
        assert_eq!(quantile(&mut hundred, 0.0), Some(1));
        assert_eq!(quantile(&mut hundred, 1.0), Some(100));
        assert_eq!(quantile::<u32>(&mut [], 0.5), None);
    }

    /// Durations come out in microseconds.
    #[test]
    fn percentiles_in_microseconds() {
        let mut times: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentiles_us(&mut times), (51.0, 100.0));
        assert_eq!(percentiles_us(&mut []), (0.0, 0.0));
    }

    /// The spread of unsorted runs.
    #[test]
    fn spread_of_runs() {
        let s = Spread::of(&mut [3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            s,
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(Spread::of(&mut []), None);
    }
}
