//! Predictive lead scoring: beside the rule-based score of
//! [`scoring`](crate::scoring), a model each tenant trains on its own history,
//! estimating the probability that a lead converts (reaches opportunity or
//! customer).
//!
//! # The model
//!
//! Logistic regression: `p = 1 / (1 + e^-(bias + Σ weightᵢ · zᵢ))`, where `zᵢ`
//! is feature `i` standardized with the mean and standard deviation of the
//! training part (a feature that never varies gets scale 1, so it contributes
//! nothing). It is fitted by full-batch gradient descent on the mean log loss
//! plus an L2 penalty `l2/2 · Σ weightᵢ²` (the bias is not penalized), for a
//! fixed number of epochs from a fixed start, so the same samples and options
//! always give the same [`Model`]. The logit is clamped before the sigmoid:
//! probabilities stay strictly inside (0, 1) and are never NaN.
//!
//! Because the features are standardized, a weight is the change in log-odds
//! per standard deviation of its feature, so weights compare across features,
//! and [`Model::contributions`] explains a single prediction: each feature's
//! `weight × z`, which together with the bias add up to the logit.
//!
//! # The time split
//!
//! The samples are ordered by `created_at` (ties keep their input order) and
//! the latest [`TrainOptions::test_share`] of them is held out: the model
//! learns only from the earlier leads and is judged on the later ones. That is
//! how it is used in production, where a model trained on the past scores the
//! leads arriving now; a random split would let it peek at the future
//! (seasons, campaigns, a changed sales process) and report a better quality
//! than it will have.
//!
//! # When it is used
//!
//! Only when there are enough outcomes: the training part must hold at least
//! [`TrainOptions::min_positives`] converted and
//! [`TrainOptions::min_negatives`] unconverted leads, and the held-out part at
//! least one of each, or there is no quality to report. Otherwise training
//! refuses with [`TrainError`] and the tenant keeps the rule-based score alone.
//!
//! # The quality measures
//!
//! - [`auc`], the area under the ROC curve: the probability that a converted
//!   lead picked at random scores above an unconverted one picked at random
//!   (ties count one half). 0.5 is a coin toss, 1.0 a perfect ranking; for
//!   lead scoring, 0.7 is useful and above 0.8 good.
//! - [`top_decile_lift`]: how many times more often the top tenth of leads by
//!   score converts than leads overall. A lift of 3 means the sales team
//!   calling the top tenth first meets three times the base conversion rate.
//!
//! Both are measured on the held-out part and stored in the [`Model`].

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::touchpoint::Timestamp;

/// The logit is clamped to ±this before the sigmoid: `1 / (1 + e^30)` is
/// about 1e-13, still distinguishable from 0 and 1 in an `f64`.
const LOGIT_LIMIT: f64 = 30.0;

/// Standardized values are clamped to ±this, so a wild value at prediction
/// time cannot turn a finite weight into an infinite (or, times 0, NaN) term.
const Z_LIMIT: f64 = 1e6;

/// One lead's features and outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The feature values, in the order of the model's feature names.
    pub features: Vec<f64>,
    /// Whether the lead reached opportunity or customer.
    pub converted: bool,
    /// When the lead was created; decides the time split.
    pub created_at: Timestamp,
}

/// How to train a [`Model`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// The fewest converted leads the training part must hold (at least 1).
    pub min_positives: usize,
    /// The fewest unconverted leads the training part must hold (at least 1).
    pub min_negatives: usize,
    /// The share of samples held out, the latest by `created_at` (ties broken
    /// by input order); strictly between 0 and 1. The held-out count is
    /// `samples × test_share` rounded to the nearest integer, at least 1.
    pub test_share: f64,
    /// Gradient descent steps over the whole training part (at least 1).
    pub epochs: usize,
    /// The step size (> 0).
    pub learning_rate: f64,
    /// The L2 penalty on the weights (≥ 0, and `learning_rate × l2 < 1` so
    /// that each step shrinks the weights rather than flipping them).
    pub l2: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            min_positives: 20,
            min_negatives: 20,
            test_share: 0.25,
            epochs: 300,
            learning_rate: 0.5,
            l2: 1e-3,
        }
    }
}

/// Why a model was not trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The training part (the earlier samples) has too few outcomes of a
    /// kind.
    #[error(
        "not enough outcomes to train: {positives} converted and {negatives} unconverted \
         leads before the split, at least {min_positives} and {min_negatives} needed"
    )]
    NotEnoughOutcomes {
        /// Converted leads in the training part.
        positives: usize,
        /// Unconverted leads in the training part.
        negatives: usize,
        /// [`TrainOptions::min_positives`].
        min_positives: usize,
        /// [`TrainOptions::min_negatives`].
        min_negatives: usize,
    },
    /// The held-out part (the latest samples) lacks converted or unconverted
    /// leads, so its AUC is undefined.
    #[error(
        "the held-out (latest) leads are one-sided: {positives} converted and {negatives} \
         unconverted; the AUC needs both"
    )]
    TestSplitOneSided {
        /// Converted leads in the held-out part.
        positives: usize,
        /// Unconverted leads in the held-out part.
        negatives: usize,
    },
    /// No feature names were given.
    #[error("a model needs at least one feature")]
    NoFeatures,
    /// A sample has a different number of features than there are names.
    #[error("sample {index} has {found} features, expected {expected}")]
    FeatureCount {
        /// The sample's position in the input, from 0.
        index: usize,
        /// The number of feature names.
        expected: usize,
        /// The sample's number of features.
        found: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("sample {index}: feature {feature} is not a finite number")]
    NotFinite {
        /// The sample's position in the input, from 0.
        index: usize,
        /// The feature's position, from 0.
        feature: usize,
    },
    /// An option is out of range; the text says which and why.
    #[error("bad training options: {0}")]
    BadOptions(String),
    /// The weights overflowed: the learning rate is far too large.
    #[error("training diverged at epoch {epoch}; lower the learning rate")]
    Diverged {
        /// The epoch (from 0) after which a parameter was no longer finite.
        epoch: usize,
    },
}

/// A trained predictive model with its held-out quality.
///
/// Every number is serialized as a decimal string, the shortest that reads
/// back to the same `f64`: JSON readers (`serde_json` by default among them)
/// may round a 17-digit number to a neighbouring `f64`, and a restored model
/// must score exactly as the saved one did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The features, in the order [`Model::predict`] expects them.
    pub feature_names: Vec<String>,
    /// Per feature: the training part's mean.
    #[serde(with = "exact_vec")]
    means: Vec<f64>,
    /// Per feature: the training part's standard deviation (1 when 0).
    #[serde(with = "exact_vec")]
    scales: Vec<f64>,
    /// Per feature: the weight of the standardized value.
    #[serde(with = "exact_vec")]
    weights: Vec<f64>,
    /// The logit at the training means.
    #[serde(with = "exact")]
    bias: f64,
    /// The area under the ROC curve on the held-out (latest) part; see [`auc`].
    #[serde(with = "exact")]
    pub auc: f64,
    /// The top-decile lift on the held-out part; see [`top_decile_lift`].
    #[serde(with = "exact")]
    pub lift_top_decile: f64,
    /// The number of samples trained on (the earlier part).
    pub trained_on: usize,
    /// The number of samples held out (the latest part).
    pub tested_on: usize,
    /// `created_at` of the first held-out sample. Every held-out sample was
    /// created at or after it (a training sample may share it when
    /// timestamps tie).
    pub split_at: Timestamp,
}

impl Model {
    /// Trains a model on `samples`, each with one value per name in
    /// `feature_names`, holding out the latest ones to measure it.
    ///
    /// Checks, in order: the options, that there is a feature, every sample's
    /// feature count and values (the first problem in input order is
    /// reported), the outcomes of the training part, then those of the
    /// held-out part.
    pub fn train(
        feature_names: Vec<String>,
        samples: &[Sample],
        options: &TrainOptions,
    ) -> Result<Model, TrainError> {
        check_options(options)?;
        let width = feature_names.len();
        if width == 0 {
            return Err(TrainError::NoFeatures);
        }
        for (index, sample) in samples.iter().enumerate() {
            if sample.features.len() != width {
                return Err(TrainError::FeatureCount {
                    index,
                    expected: width,
                    found: sample.features.len(),
                });
            }
            if let Some(feature) = sample.features.iter().position(|v| !v.is_finite()) {
                return Err(TrainError::NotFinite { index, feature });
            }
        }

        // Oldest first; the sort is stable, so ties keep their input order.
        let mut order: Vec<&Sample> = samples.iter().collect();
        order.sort_by_key(|s| s.created_at);
        let total = order.len();
        let tested_on = ((total as f64 * options.test_share).round() as usize)
            .max(1)
            .min(total);
        let (train, test) = order.split_at(total - tested_on);

        let (positives, negatives) = outcomes(train);
        if positives < options.min_positives || negatives < options.min_negatives {
            return Err(TrainError::NotEnoughOutcomes {
                positives,
                negatives,
                min_positives: options.min_positives,
                min_negatives: options.min_negatives,
            });
        }
        let (test_positives, test_negatives) = outcomes(test);
        let one_sided = TrainError::TestSplitOneSided {
            positives: test_positives,
            negatives: test_negatives,
        };
        let Some(split_at) = test.first().map(|s| s.created_at) else {
            return Err(one_sided);
        };
        if test_positives == 0 || test_negatives == 0 {
            return Err(one_sided);
        }

        let (means, scales) = standardization(train, width);
        // Row-major standardized training matrix: one contiguous block keeps
        // the epochs cache-friendly.
        let mut rows = Vec::with_capacity(train.len() * width);
        for sample in train {
            rows.extend(
                sample
                    .features
                    .iter()
                    .zip(means.iter().zip(&scales))
                    .map(|(&x, (&mean, &scale))| standardize(x, mean, scale)),
            );
        }
        let labels: Vec<f64> = train
            .iter()
            .map(|s| if s.converted { 1.0 } else { 0.0 })
            .collect();
        // Start from the base rate: the bias the data would fit with no
        // features, so the epochs go into the weights.
        let bias = (positives as f64 / negatives as f64).ln();
        let (weights, bias) = descend(&rows, &labels, width, bias, options)?;

        let mut model = Model {
            feature_names,
            means,
            scales,
            weights,
            bias,
            auc: 0.0,
            lift_top_decile: 0.0,
            trained_on: train.len(),
            tested_on,
            split_at,
        };
        let scored: Vec<(f64, bool)> = test
            .iter()
            .map(|s| (model.predict(&s.features), s.converted))
            .collect();
        // Both exist: the held-out part has a converted and an unconverted lead.
        let (Some(auc), Some(lift)) = (auc(&scored), top_decile_lift(&scored)) else {
            return Err(one_sided);
        };
        model.auc = auc;
        model.lift_top_decile = lift;
        Ok(model)
    }

    /// The probability, strictly between 0 and 1, that a lead with these
    /// features converts.
    ///
    /// `features` follow [`Model::feature_names`]. A missing value (the slice
    /// is too short) or a NaN or infinite one counts as the training mean, so
    /// it adds nothing; extra values are ignored. Never panics, never NaN.
    pub fn predict(&self, features: &[f64]) -> f64 {
        let logit = self.bias + self.terms(features).sum::<f64>();
        sigmoid(logit)
    }

    /// Each feature's contribution to the logit, `weight × standardized
    /// value`, largest magnitude first (ties in feature order). With the
    /// [`Model::bias`] they add up to the logit of [`Model::predict`]; values
    /// are read as there.
    pub fn contributions(&self, features: &[f64]) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .feature_names
            .iter()
            .cloned()
            .zip(self.terms(features))
            .collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        out
    }

    /// Per feature, in [`Model::feature_names`] order: the change in log-odds
    /// per standard deviation of the feature.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The logit of a lead whose every feature is at its training mean.
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// `weight × standardized value` per feature name. Tolerates a model whose
    /// vectors disagree in length (a hand-edited snapshot): what is missing
    /// counts as weight 0.
    fn terms<'a>(&'a self, features: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
        (0..self.feature_names.len()).map(move |i| {
            let weight = self.weights.get(i).copied().unwrap_or(0.0);
            let mean = self.means.get(i).copied().unwrap_or(0.0);
            let scale = self.scales.get(i).copied().unwrap_or(1.0);
            let z = match features.get(i) {
                Some(&x) if x.is_finite() => standardize(x, mean, scale),
                _ => 0.0,
            };
            let term = weight * z;
            if term.is_finite() { term } else { 0.0 }
        })
    }
}

/// The area under the ROC curve of `(score, converted)` pairs: the share of
/// (converted, unconverted) pairs where the converted one scores higher, a tie
/// counting one half (the Mann–Whitney U statistic over the product of the
/// counts). `None` when there is no converted or no unconverted pair.
///
/// Sorts once: O(n log n). A NaN score ranks below every other score (and
/// ties with -∞); -0 ties with 0.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let mut sorted: Vec<(f64, bool)> = scored.iter().map(|&(s, c)| (rank_key(s), c)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Twice U, counted exactly: within a group of tied scores each converted
    // lead beats every unconverted one below the group and ties with the
    // unconverted ones in it.
    let mut twice_u: u128 = 0;
    let mut positives: u128 = 0;
    let mut negatives_below: u128 = 0;
    for group in sorted.chunk_by(|a, b| a.0 == b.0) {
        let p = group.iter().filter(|(_, c)| *c).count() as u128;
        let q = group.len() as u128 - p;
        twice_u += 2 * p * negatives_below + p * q;
        positives += p;
        negatives_below += q;
    }
    if positives == 0 || negatives_below == 0 {
        return None;
    }
    Some(twice_u as f64 / (2 * positives * negatives_below) as f64)
}

/// The conversion rate among the top tenth of `(score, converted)` pairs by
/// score, divided by the overall conversion rate. The top tenth is `n / 10`
/// pairs rounded down, at least one; among tied scores at the cut the earlier
/// in the input are taken. `None` when the slice is empty or nothing
/// converted. Scores compare as in [`auc`].
pub fn top_decile_lift(scored: &[(f64, bool)]) -> Option<f64> {
    let total = scored.len();
    let converted = scored.iter().filter(|(_, c)| *c).count();
    if total == 0 || converted == 0 {
        return None;
    }
    let mut sorted: Vec<(f64, bool)> = scored.iter().map(|&(s, c)| (rank_key(s), c)).collect();
    // Highest first; stable, so ties keep their input order.
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top = (total / 10).max(1);
    let top_converted = sorted.iter().take(top).filter(|(_, c)| *c).count();
    let top_rate = top_converted as f64 / top as f64;
    let overall_rate = converted as f64 / total as f64;
    Some(top_rate / overall_rate)
}

fn check_options(options: &TrainOptions) -> Result<(), TrainError> {
    let bad = |reason: &str| Err(TrainError::BadOptions(reason.to_owned()));
    let TrainOptions {
        min_positives,
        min_negatives,
        test_share,
        epochs,
        learning_rate,
        l2,
    } = *options;
    if min_positives == 0 || min_negatives == 0 {
        return bad("min_positives and min_negatives must be at least 1");
    }
    if !(test_share > 0.0 && test_share < 1.0) {
        return bad(&format!(
            "test_share must be strictly between 0 and 1, not {test_share}"
        ));
    }
    if epochs == 0 {
        return bad("epochs must be at least 1");
    }
    if !(learning_rate.is_finite() && learning_rate > 0.0) {
        return bad(&format!(
            "learning_rate must be a finite number above 0, not {learning_rate}"
        ));
    }
    if !(l2.is_finite() && l2 >= 0.0) {
        return bad(&format!("l2 must be a finite number, at least 0, not {l2}"));
    }
    if learning_rate * l2 >= 1.0 {
        return bad("learning_rate × l2 must be below 1");
    }
    Ok(())
}

/// Converted and unconverted counts.
fn outcomes(samples: &[&Sample]) -> (usize, usize) {
    let positives = samples.iter().filter(|s| s.converted).count();
    (positives, samples.len() - positives)
}

/// Per feature: the mean and the (population) standard deviation of `train`,
/// which is not empty. A constant feature gets scale 1. A feature so large
/// that its variance overflows gets mean 0 and its largest magnitude as scale.
fn standardization(train: &[&Sample], width: usize) -> (Vec<f64>, Vec<f64>) {
    let n = train.len() as f64;
    let mut means = vec![0.0; width];
    let mut scales = vec![1.0; width];
    for (j, (mean, scale)) in means.iter_mut().zip(scales.iter_mut()).enumerate() {
        let column = || train.iter().filter_map(move |s| s.features.get(j).copied());
        let (low, high) = column().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        if low == high {
            // Constant. Tested apart: a rounded mean would leave a residue
            // of 1e-16 that standardizing would blow up to ±1.
            *mean = low;
            continue;
        }
        // Dividing first keeps the sum of finite values finite.
        let m: f64 = column().map(|x| x / n).sum();
        let variance: f64 = column().map(|x| (x - m) * (x - m) / n).sum();
        if variance.is_finite() {
            *mean = m;
            let sd = variance.sqrt();
            *scale = if sd > 0.0 { sd } else { 1.0 };
        } else {
            let largest = column().fold(0.0_f64, |a, x| a.max(x.abs()));
            *scale = if largest > 0.0 { largest } else { 1.0 };
        }
    }
    (means, scales)
}

fn standardize(x: f64, mean: f64, scale: f64) -> f64 {
    let z = (x - mean) / scale;
    if z.is_nan() {
        0.0
    } else {
        z.clamp(-Z_LIMIT, Z_LIMIT)
    }
}

/// Full-batch gradient descent on the mean log loss plus `l2/2 · |w|²`, from
/// zero weights and the given bias. `rows` is row-major, `width` per row.
fn descend(
    rows: &[f64],
    labels: &[f64],
    width: usize,
    mut bias: f64,
    options: &TrainOptions,
) -> Result<(Vec<f64>, f64), TrainError> {
    let n = labels.len() as f64;
    let mut weights = vec![0.0; width];
    let mut gradient = vec![0.0; width];
    for epoch in 0..options.epochs {
        gradient.fill(0.0);
        let mut bias_gradient = 0.0;
        for (row, &label) in rows.chunks_exact(width).zip(labels) {
            let error = sigmoid(bias + dot(&weights, row)) - label;
            bias_gradient += error;
            for (g, &x) in gradient.iter_mut().zip(row) {
                *g += error * x;
            }
        }
        for (w, g) in weights.iter_mut().zip(&gradient) {
            *w -= options.learning_rate * (g / n + options.l2 * *w);
        }
        bias -= options.learning_rate * bias_gradient / n;
        if !(bias.is_finite() && weights.iter().all(|w| w.is_finite())) {
            return Err(TrainError::Diverged { epoch });
        }
    }
    Ok((weights, bias))
}

/// A dot product with four independent sums, so the compiler can keep them in
/// vector registers (a single running sum must be added in order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let mut a4 = a.chunks_exact(4);
    let mut b4 = b.chunks_exact(4);
    for (x, y) in a4.by_ref().zip(b4.by_ref()) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

fn sigmoid(logit: f64) -> f64 {
    let z = if logit.is_nan() {
        0.0
    } else {
        logit.clamp(-LOGIT_LIMIT, LOGIT_LIMIT)
    };
    1.0 / (1.0 + (-z).exp())
}

/// The score as ranked by [`auc`] and [`top_decile_lift`]: NaN lowest, -0 as 0.
fn rank_key(score: f64) -> f64 {
    if score.is_nan() {
        f64::NEG_INFINITY
    } else {
        score + 0.0
    }
}

/// Serde for an `f64` as its shortest round-trip decimal string.
mod exact {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        // `{:?}` prints the shortest decimal that parses back to the same
        // bits, with an exponent for very large or small values.
        serializer.collect_str(&format_args!("{value:?}"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<f64>()
            .map_err(|e| D::Error::custom(format!("`{text}` is not a number: {e}")))
    }
}

/// Serde for a `Vec<f64>` as a list of [`exact`] strings.
mod exact_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    struct Exact(f64);

    impl Serialize for Exact {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::exact::serialize(&self.0, serializer)
        }
    }

    impl<'de> Deserialize<'de> for Exact {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            super::exact::deserialize(deserializer).map(Exact)
        }
    }

    pub(super) fn serialize<S: Serializer>(
        values: &[f64],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|&v| Exact(v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<f64>, D::Error> {
        let values = Vec::<Exact>::deserialize(deserializer)?;
        Ok(values.into_iter().map(|e| e.0).collect())
    }
}
