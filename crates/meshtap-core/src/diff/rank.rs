//! The noise tests a diff states beside each change: the Mann-Whitney rank test on two latency
//! samples, and the two-proportion z test on two success rates. Both are two-sided and use the
//! normal approximation, which is sound at the sample sizes a diff asks for
//! ([`MIN_SAMPLES`] per side); below that no verdict is given at all.

use serde::Serialize;

/// Fewest samples on each side for a test to be run; below it a change is reported without a
/// verdict (a handful of requests says nothing about a route).
pub const MIN_SAMPLES: usize = 20;
/// The p-value under which a change counts as beyond noise.
pub const ALPHA: f64 = 0.01;

/// A rank test's result, with the counts it rests on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RankTest {
    pub n_a: usize,
    pub n_b: usize,
    /// Mann-Whitney U of the first sample.
    pub u: f64,
    pub z: f64,
    pub p_value: f64,
    pub beyond_noise: bool,
}

/// Mann-Whitney U of `before` against `after` (both sorted ascending is not required), tie-corrected,
/// with a continuity correction. `None` when either side has fewer than [`MIN_SAMPLES`].
pub fn mann_whitney(before: &[u64], after: &[u64]) -> Option<RankTest> {
    let (n_a, n_b) = (before.len(), after.len());
    if n_a < MIN_SAMPLES || n_b < MIN_SAMPLES {
        return None;
    }
    let mut all: Vec<(u64, bool)> = before
        .iter()
        .map(|&v| (v, true))
        .chain(after.iter().map(|&v| (v, false)))
        .collect();
    all.sort_unstable_by_key(|&(v, _)| v);
    let total = all.len();
    let mut rank_sum_a = 0.0;
    // Σ (t³ - t) over groups of tied values, for the variance's correction.
    let mut ties = 0.0;
    let mut i = 0;
    while i < total {
        let mut j = i;
        while j + 1 < total && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let in_a = all[i..=j].iter().filter(|(_, from_a)| *from_a).count();
        rank_sum_a += rank * in_a as f64;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let (na, nb, nn) = (n_a as f64, n_b as f64, total as f64);
    let u = rank_sum_a - na * (na + 1.0) / 2.0;
    let mean = na * nb / 2.0;
    let variance = na * nb / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
    let (z, p_value) = if variance > 0.0 {
        let distance = ((u - mean).abs() - 0.5).max(0.0);
        let z = distance / variance.sqrt() * (u - mean).signum();
        (z, two_sided_p(z))
    } else {
        // Every value equal on both sides: nothing differs.
        (0.0, 1.0)
    };
    Some(RankTest {
        n_a,
        n_b,
        u,
        z,
        p_value,
        beyond_noise: p_value < ALPHA,
    })
}

/// A two-proportion z test's result, with the counts it rests on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProportionTest {
    pub n_a: u64,
    pub n_b: u64,
    pub z: f64,
    pub p_value: f64,
    pub beyond_noise: bool,
}

/// Whether `ok_b / n_b` differs from `ok_a / n_a` beyond noise. `None` below [`MIN_SAMPLES`].
pub fn proportions(ok_a: u64, n_a: u64, ok_b: u64, n_b: u64) -> Option<ProportionTest> {
    let min = MIN_SAMPLES as u64;
    if n_a < min || n_b < min {
        return None;
    }
    let (pa, pb) = (ok_a as f64 / n_a as f64, ok_b as f64 / n_b as f64);
    let pooled = (ok_a + ok_b) as f64 / (n_a + n_b) as f64;
    let variance = pooled * (1.0 - pooled) * (1.0 / n_a as f64 + 1.0 / n_b as f64);
    let (z, p_value) = if variance > 0.0 {
        let z = (pb - pa) / variance.sqrt();
        (z, two_sided_p(z))
    } else {
        // All succeeded (or all failed) on both sides.
        (0.0, 1.0)
    };
    Some(ProportionTest {
        n_a,
        n_b,
        z,
        p_value,
        beyond_noise: p_value < ALPHA,
    })
}

/// P(|Z| ≥ |z|) for a standard normal Z.
fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// The complementary error function, by the Chebyshev fit in Numerical Recipes (`erfcc`): a
/// fractional error below 1.2e-7 everywhere, far finer than any verdict here needs.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (2.0, 0.004_677_735),
            (-1.0, 1.842_700_793),
        ] {
            assert!((erfc(x) - want).abs() < 1e-6, "erfc({x}) = {}", erfc(x));
        }
        // |z| = 1.96 is the textbook 5 % two-sided point.
        assert!((two_sided_p(1.96) - 0.05).abs() < 1e-3);
    }

    #[test]
    fn a_shifted_sample_is_beyond_noise_and_the_same_one_is_not() {
        let a: Vec<u64> = (0..200).map(|i| 1_000 + (i * 37) % 500).collect();
        let slower: Vec<u64> = a.iter().map(|v| v + 300).collect();
        let test = mann_whitney(&a, &slower).expect("enough samples");
        assert!(test.beyond_noise, "{test:?}");
        assert!(test.z < 0.0, "a ranks lower than b: {test:?}");
        assert_eq!((test.n_a, test.n_b), (200, 200));
        let same = mann_whitney(&a, &a).expect("enough samples");
        assert!(!same.beyond_noise, "{same:?}");
        assert!(same.p_value > 0.9, "{same:?}");
    }

    #[test]
    fn u_is_counted_exactly_with_ties() {
        // Every a below every b: U = 0; every value tied: variance corrected to 0, p = 1.
        let a = vec![1; 20];
        let b = vec![2; 25];
        let test = mann_whitney(&a, &b).expect("enough");
        assert!(test.u.abs() < 1e-9, "{test:?}");
        let tied = mann_whitney(&a, &a).expect("enough");
        assert!((tied.p_value - 1.0).abs() < 1e-12, "{tied:?}");
    }

    #[test]
    fn too_few_samples_give_no_verdict() {
        assert!(mann_whitney(&[1; 19], &[2; 100]).is_none());
        assert!(proportions(19, 19, 100, 100).is_none());
    }

    #[test]
    fn success_rates_are_compared_with_their_counts() {
        let drop = proportions(990, 1_000, 900, 1_000).expect("enough");
        assert!(drop.beyond_noise && drop.z < 0.0, "{drop:?}");
        let wobble = proportions(990, 1_000, 988, 1_000).expect("enough");
        assert!(!wobble.beyond_noise, "{wobble:?}");
        let perfect = proportions(500, 500, 700, 700).expect("enough");
        assert!((perfect.p_value - 1.0).abs() < 1e-12);
    }
}
