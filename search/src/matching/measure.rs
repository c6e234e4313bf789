//! The similarity measures: term-to-term similarities combined over two sets of terms,
//! set-level baselines, and the node's own default method.

use std::fmt;
use std::str::FromStr;

/// How similar two single terms are, from the information content (IC) of their
/// ancestors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TermSim {
    /// IC of the most informative common ancestor (MICA). Resnik 1995.
    Resnik,
    /// `2·IC(MICA) / (IC(a) + IC(b))`, in 0..=1. Lin 1998.
    Lin,
    /// `1 - (IC(a) + IC(b) - 2·IC(MICA)) / (2·max IC)`, the Jiang-Conrath distance turned
    /// into a similarity in 0..=1. Jiang & Conrath 1997.
    JiangConrath,
    /// Sum of IC over the common ancestors divided by the sum over all ancestors of
    /// either term (Pesquita et al. 2008, term level).
    GraphIc,
}

/// How term similarities are combined over a query set Q and a candidate set C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// Best-match average over all best matches of both directions, pooled:
    /// `(Σ_q max_c s + Σ_c max_q s) / (|Q| + |C|)`.
    Bma,
    /// The mean of the two directions' average best matches (FunSimMat funSimAvg).
    FunSimAvg,
    /// The larger of the two directions' average best matches (FunSimMat funSimMax).
    FunSimMax,
}

/// The settings of the node's default method (see `docs/matching.md` for the evidence).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// The term similarity.
    pub term: TermSim,
    /// Weight of the query→candidate direction (how well the query's terms are
    /// explained by the candidate); the candidate→query direction gets `1 - query_side`.
    pub query_side: f32,
    /// Each direction as a share of information: the sum of best matches divided by the
    /// sum of the terms' own IC. A profile then scores exactly 1 against itself, precise
    /// terms weigh more than vague ones, and scores of queries of any size compare.
    pub normalized: bool,
    /// Penalty per unit of contradiction (the IC of a term one profile excludes that the
    /// other has, or has a descendant of, relative to the query's total IC).
    pub exclusion: f32,
    /// Best matches below this share of the query term's own IC count as zero: an
    /// unmatched (noise) term then adds nothing, rather than a random small similarity.
    pub floor: f32,
    /// Square each best match's share of its term's information before summing (with
    /// `normalized`): a strong match keeps its weight, a weak chance match through a general
    /// ancestor (a noise term) loses most of it.
    pub sharpen: bool,
    /// Weight (0..=1) of a second score, GraphIC best-match average (`graphic-bma`: term
    /// similarity as shared over total ancestor information of each pair, so a chance match
    /// of a noise term through a general ancestor is worth little), mixed with the first.
    pub graphic_mix: f32,
}

impl Tuning {
    /// The node's default method.
    pub const DEFAULT: Self = Self {
        term: TermSim::Resnik,
        query_side: 0.7,
        normalized: true,
        exclusion: 1.0,
        floor: 0.0,
        sharpen: true,
        graphic_mix: 0.5,
    };
}

/// A way to score a candidate profile against a query profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A term similarity combined over the two sets.
    Pairwise(TermSim, Combine),
    /// Jaccard index of the two ancestor closures.
    Jaccard,
    /// simGIC: IC-weighted Jaccard of the two ancestor closures (Pesquita et al. 2008).
    SimGic,
    /// The node's method, with its settings.
    Raremesh(Tuning),
}

impl Default for Measure {
    fn default() -> Self {
        Self::Raremesh(Tuning::DEFAULT)
    }
}

impl Measure {
    /// Every standard measure, then the default.
    pub fn all() -> Vec<Self> {
        let mut out = Vec::new();
        for t in [
            TermSim::Resnik,
            TermSim::Lin,
            TermSim::JiangConrath,
            TermSim::GraphIc,
        ] {
            for c in [Combine::Bma, Combine::FunSimAvg, Combine::FunSimMax] {
                out.push(Self::Pairwise(t, c));
            }
        }
        out.push(Self::Jaccard);
        out.push(Self::SimGic);
        out.push(Self::default());
        out
    }

    /// The names `FromStr` accepts, for help texts.
    pub fn names() -> Vec<String> {
        Self::all().iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pairwise(t, c) => {
                let t = match t {
                    TermSim::Resnik => "resnik",
                    TermSim::Lin => "lin",
                    TermSim::JiangConrath => "jc",
                    TermSim::GraphIc => "graphic",
                };
                let c = match c {
                    Combine::Bma => "bma",
                    Combine::FunSimAvg => "funsimavg",
                    Combine::FunSimMax => "funsimmax",
                };
                write!(f, "{t}-{c}")
            }
            Self::Jaccard => f.write_str("jaccard"),
            Self::SimGic => f.write_str("simgic"),
            Self::Raremesh(t) if *t == Tuning::DEFAULT => f.write_str("raremesh"),
            Self::Raremesh(t) => write!(f, "raremesh({t:?})"),
        }
    }
}

/// An unknown measure name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown measure {0:?}; known: {known}", known = Measure::names().join(", "))]
pub struct UnknownMeasure(pub String);

impl FromStr for Measure {
    type Err = UnknownMeasure;

    fn from_str(s: &str) -> Result<Self, UnknownMeasure> {
        let name = s.trim().to_ascii_lowercase();
        if name == "default" {
            return Ok(Self::default());
        }
        Self::all()
            .into_iter()
            .find(|m| m.to_string() == name)
            .ok_or_else(|| UnknownMeasure(s.to_owned()))
    }
}
