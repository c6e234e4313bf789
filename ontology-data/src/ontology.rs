//! The in-memory ontology: terms, graph, diseases and information content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::graph::{self, Csr, Graph};
use crate::translation::Translation;
use crate::{
    Annotation, Disease, HpoId, OrphaCode, Result, SourceTexts, Term, TermIdx, hpoa, ic, obo,
};

/// The versions of the loaded release files, shown in the product as HPO's licence asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataVersion {
    /// `data-version` of `hp.obo`, e.g. `hp/releases/2025-01-16`.
    pub hpo: String,
    /// `#version` of `phenotype.hpoa`, e.g. `2025-01-16`.
    pub annotations: String,
}

impl DataVersion {
    /// The release date part of the HPO version (`2025-01-16`).
    pub fn hpo_release(&self) -> &str {
        self.hpo.rsplit('/').next().unwrap_or(&self.hpo)
    }
}

/// Counts describing what was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Live (non-obsolete) terms.
    pub live_terms: usize,
    /// Obsolete terms in the release.
    pub obsolete_terms: usize,
    /// Obsolete terms that name a replacement.
    pub replaced_terms: usize,
    /// Alternative ids of live terms.
    pub alt_ids: usize,
    /// Synonyms of live terms.
    pub synonyms: usize,
    /// Of which tagged layperson.
    pub layperson_synonyms: usize,
    /// ORPHA diseases with at least one annotation row.
    pub diseases: usize,
    /// Positive ORPHA annotations kept (one per disease and term).
    pub annotations: usize,
    /// Excluded (`NOT`) ORPHA annotations kept.
    pub excluded_annotations: usize,
    /// ORPHA rows whose term id the ontology does not know (dropped).
    pub unresolved_annotations: usize,
}

/// What an id stands for in this release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A live term.
    Live(TermIdx),
    /// An alternative id of a live term.
    AltId(TermIdx),
    /// An obsolete term replaced by a live one.
    Replaced(TermIdx),
    /// An obsolete term without a replacement.
    Obsolete,
    /// Not in this release.
    Unknown,
}

impl Lookup {
    /// The live term this id resolves to, if any.
    pub fn term(self) -> Option<TermIdx> {
        match self {
            Self::Live(t) | Self::AltId(t) | Self::Replaced(t) => Some(t),
            Self::Obsolete | Self::Unknown => None,
        }
    }
}

/// The data that defines an ontology; everything else is derived from it on load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Core {
    pub version: DataVersion,
    /// Live terms sorted by id.
    pub terms: Vec<Term>,
    /// `(id number, live target)` for alt ids and replaced obsolete ids, sorted.
    pub aliases: Vec<(u32, TermIdx, bool)>,
    /// Obsolete ids without replacement, sorted.
    pub obsolete: Vec<u32>,
    pub obsolete_total: usize,
    /// Diseases sorted by code.
    pub diseases: Vec<Disease>,
    pub unresolved_annotations: usize,
    /// Names and synonyms in other languages, sorted by language.
    pub translations: Vec<Translation>,
    /// `(OMIM number, ORPHA code)`: the OMIM diseases of the annotation file whose name is
    /// exactly (ignoring case) the name of one ORPHA disease of the file, sorted by number.
    pub omim_to_orpha: Vec<(u32, OrphaCode)>,
}

/// An HPO release with its ORPHA annotations, ready for queries.
#[derive(Debug, Clone)]
pub struct Ontology {
    core: Core,
    graph: Graph,
    ic: Vec<f64>,
    /// Per term, the diseases annotated with it (directly), as indexes into `diseases`.
    disease_count: Vec<u32>,
}

impl Ontology {
    /// Parses `hp.obo` and `phenotype.hpoa` texts (no translations).
    pub fn parse(obo_text: &str, hpoa_text: &str) -> Result<Self> {
        let obo = obo::parse(obo_text)?;
        let hpoa = hpoa::parse(hpoa_text)?;
        Self::from_core(build_core(obo, hpoa)?)
    }

    /// Parses a release with its translations.
    pub fn parse_texts(texts: &SourceTexts) -> Result<Self> {
        let obo = obo::parse(&texts.obo)?;
        let hpoa = hpoa::parse(&texts.hpoa)?;
        let mut core = build_core(obo, hpoa)?;
        let mut translations = Vec::with_capacity(texts.translations.len());
        {
            let lookup = |id: HpoId| lookup_in(&core, id).term();
            for t in &texts.translations {
                translations.push(Translation::parse(t, lookup)?);
            }
        }
        translations.sort_by(|a, b| a.lang.cmp(&b.lang));
        core.translations = translations;
        Self::from_core(core)
    }

    /// The translation into `lang` (`es`, `fr`; a region such as `es-AR` falls back to
    /// `es`), if the release has one.
    pub fn translation(&self, lang: &str) -> Option<&Translation> {
        let lang = lang.trim().to_ascii_lowercase();
        let base = lang.split(['-', '_']).next().unwrap_or_default();
        let t = &self.core.translations;
        t.iter()
            .find(|t| t.lang == lang)
            .or_else(|| t.iter().find(|t| t.lang == base))
    }

    /// Every translation, sorted by language.
    pub fn translations(&self) -> &[Translation] {
        &self.core.translations
    }

    /// The term's name in `lang` where the translation has one, else its English name.
    pub fn term_name(&self, idx: TermIdx, lang: &str) -> &str {
        self.translation(lang)
            .and_then(|t| t.name(idx))
            .unwrap_or(&self.term(idx).name)
    }

    pub(crate) fn from_core(core: Core) -> Result<Self> {
        let parents: Vec<&[TermIdx]> = core.terms.iter().map(|t| t.parents.as_slice()).collect();
        let ids: Vec<HpoId> = core.terms.iter().map(|t| t.id).collect();
        let graph = graph::build(&parents, &ids)?;
        let ic = ic::from_diseases(core.terms.len(), &graph.ancestors, &core.diseases);
        let mut disease_count = vec![0u32; core.terms.len()];
        for d in &core.diseases {
            for a in &d.annotations {
                disease_count[a.term.index()] += 1;
            }
        }
        Ok(Self {
            core,
            graph,
            ic,
            disease_count,
        })
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// The release versions.
    pub fn version(&self) -> &DataVersion {
        &self.core.version
    }

    /// All live terms, sorted by id; a [`TermIdx`] indexes this slice.
    pub fn terms(&self) -> &[Term] {
        &self.core.terms
    }

    /// The live term at `idx`.
    #[inline]
    pub fn term(&self, idx: TermIdx) -> &Term {
        &self.core.terms[idx.index()]
    }

    /// What `id` stands for: a live term, an alternative id, a replaced or obsolete term.
    pub fn lookup(&self, id: HpoId) -> Lookup {
        lookup_in(&self.core, id)
    }

    /// The live term `id` resolves to (following alt ids and `replaced_by`).
    pub fn resolve(&self, id: HpoId) -> Option<TermIdx> {
        self.lookup(id).term()
    }

    /// Direct children of a term.
    #[inline]
    pub fn children(&self, idx: TermIdx) -> &[TermIdx] {
        self.graph.children.row(idx)
    }

    /// Ancestors of a term including itself, sorted by index.
    #[inline]
    pub fn ancestors(&self, idx: TermIdx) -> &[TermIdx] {
        self.graph.ancestors.row(idx)
    }

    /// All ancestor closures, for engines that walk many of them.
    pub fn ancestor_rows(&self) -> &Csr {
        &self.graph.ancestors
    }

    /// Whether `a` is `b` or one of its descendants.
    pub fn is_a(&self, a: TermIdx, b: TermIdx) -> bool {
        self.ancestors(a).binary_search(&b).is_ok()
    }

    /// Terms ordered so that parents come before children.
    #[inline]
    pub fn topological_order(&self) -> &[TermIdx] {
        &self.graph.topological
    }

    /// Row `i`: the parents of `topological_order()[i]` (a pass from the roots down reads
    /// them front to back).
    #[inline]
    pub fn topological_parents(&self) -> &Csr {
        &self.graph.topological_parents
    }

    /// Length of the longest `is_a` path from the root to this term.
    pub fn depth(&self, idx: TermIdx) -> u32 {
        self.graph.depth[idx.index()]
    }

    /// Information content of each term, from the ORPHA annotations (natural log).
    pub fn information_content(&self) -> &[f64] {
        &self.ic
    }

    /// How many diseases are directly annotated with this term.
    pub fn disease_count(&self, idx: TermIdx) -> u32 {
        self.disease_count[idx.index()]
    }

    /// All ORPHA diseases, sorted by code.
    pub fn diseases(&self) -> &[Disease] {
        &self.core.diseases
    }

    /// The disease with this code.
    pub fn disease(&self, code: OrphaCode) -> Option<&Disease> {
        self.core
            .diseases
            .binary_search_by_key(&code, |d| d.code)
            .ok()
            .map(|i| &self.core.diseases[i])
    }

    /// The ORPHA disease an OMIM id names, where the annotation file gives both the same
    /// name; `None` otherwise (an OMIM id is then only a label).
    pub fn orpha_for_omim(&self, omim: u32) -> Option<OrphaCode> {
        let m = &self.core.omim_to_orpha;
        m.binary_search_by_key(&omim, |(n, _)| *n)
            .ok()
            .map(|i| m[i].1)
    }

    /// How many OMIM ids map to an ORPHA disease ([`Self::orpha_for_omim`]).
    pub fn omim_mapped(&self) -> usize {
        self.core.omim_to_orpha.len()
    }

    /// Counts of what was loaded.
    pub fn stats(&self) -> Stats {
        let c = &self.core;
        let synonyms = c.terms.iter().map(|t| t.synonyms.len()).sum();
        let layperson_synonyms = c
            .terms
            .iter()
            .flat_map(|t| &t.synonyms)
            .filter(|s| s.layperson)
            .count();
        Stats {
            live_terms: c.terms.len(),
            obsolete_terms: c.obsolete_total,
            replaced_terms: c.aliases.iter().filter(|a| !a.2).count(),
            alt_ids: c.aliases.iter().filter(|a| a.2).count(),
            synonyms,
            layperson_synonyms,
            diseases: c.diseases.len(),
            annotations: c.diseases.iter().map(|d| d.annotations.len()).sum(),
            excluded_annotations: c.diseases.iter().map(|d| d.excluded.len()).sum(),
            unresolved_annotations: c.unresolved_annotations,
        }
    }
}

fn build_core(obo: obo::RawObo, hpoa: hpoa::RawHpoa) -> Result<Core> {
    use crate::Error;
    let mut live: Vec<&obo::RawTerm> = obo.terms.iter().filter(|t| !t.obsolete).collect();
    live.sort_by_key(|t| t.id);
    for w in live.windows(2) {
        if w[0].id == w[1].id {
            return Err(Error::parse(
                "hp.obo",
                w[1].line,
                format!("duplicate id {}", HpoId::from_number(w[1].id)),
            ));
        }
    }
    let index_of = |n: u32| {
        live.binary_search_by_key(&n, |t| t.id)
            .ok()
            .map(|i| TermIdx(i as u32))
    };
    let mut terms = Vec::with_capacity(live.len());
    for t in &live {
        let mut parents = Vec::with_capacity(t.is_a.len());
        for &(p, line) in &t.is_a {
            let idx = index_of(p).ok_or_else(|| {
                Error::parse(
                    "hp.obo",
                    line,
                    format!(
                        "{} is_a unknown or obsolete term {} (partial file?)",
                        HpoId::from_number(t.id),
                        HpoId::from_number(p)
                    ),
                )
            })?;
            parents.push(idx);
        }
        terms.push(Term {
            id: HpoId::from_number(t.id),
            name: t.name.clone(),
            definition: t.definition.clone(),
            synonyms: t.synonyms.clone(),
            parents,
        });
    }
    if index_of(1).is_none() {
        return Err(Error::parse(
            "hp.obo",
            0,
            "no root term HP:0000001 (partial file?)",
        ));
    }
    // Obsolete ids first, so that an id that is both obsolete and an alt_id reads "replaced".
    let mut aliases = Vec::new();
    let mut obsolete = Vec::new();
    let replaced: BTreeMap<u32, u32> = obo
        .terms
        .iter()
        .filter(|t| t.obsolete)
        .filter_map(|t| t.replaced_by.map(|r| (t.id, r)))
        .collect();
    for t in obo.terms.iter().filter(|t| t.obsolete) {
        // Follow replacement chains (bounded, in case a release has a loop).
        let mut target = t.replaced_by;
        for _ in 0..8 {
            match target {
                Some(r) if index_of(r).is_none() => target = replaced.get(&r).copied(),
                _ => break,
            }
        }
        match target.and_then(index_of) {
            Some(idx) => aliases.push((t.id, idx, false)),
            None => obsolete.push(t.id),
        }
    }
    for (i, t) in live.iter().enumerate() {
        aliases.extend(t.alt_ids.iter().map(|&a| (a, TermIdx(i as u32), true)));
    }
    aliases.sort_by_key(|a| a.0);
    aliases.dedup_by_key(|a| a.0);
    obsolete.sort_unstable();
    let obsolete_total = obo.terms.iter().filter(|t| t.obsolete).count();

    let mut core = Core {
        version: DataVersion {
            hpo: obo.data_version,
            annotations: hpoa.version,
        },
        terms,
        aliases,
        obsolete,
        obsolete_total,
        diseases: Vec::new(),
        unresolved_annotations: 0,
        translations: Vec::new(),
        omim_to_orpha: Vec::new(),
    };
    let mut by_code: BTreeMap<u32, Disease> = BTreeMap::new();
    let mut unresolved = 0;
    for row in hpoa.rows {
        let code = OrphaCode::from_number(row.orpha);
        let disease = by_code.entry(row.orpha).or_insert_with(|| Disease {
            code,
            name: row.disease_name.clone(),
            annotations: Vec::new(),
            excluded: Vec::new(),
        });
        let Some(term) = lookup_in(&core, HpoId::from_number(row.hpo)).term() else {
            unresolved += 1;
            continue;
        };
        if row.not {
            if !disease.excluded.contains(&term) {
                disease.excluded.push(term);
            }
        } else if let Some(a) = disease.annotations.iter_mut().find(|a| a.term == term) {
            if row.frequency.per_mille() > a.frequency.per_mille() {
                a.frequency = row.frequency;
            }
        } else {
            disease.annotations.push(Annotation {
                term,
                frequency: row.frequency,
            });
        }
    }
    core.diseases = by_code.into_values().collect();
    core.unresolved_annotations = unresolved;
    core.omim_to_orpha = omim_to_orpha(&core.diseases, &hpoa.omim_names);
    Ok(core)
}

/// The OMIM diseases that the annotation file names exactly as one of its ORPHA diseases
/// (ignoring case and surrounding spaces); a name two ORPHA diseases share maps nowhere.
fn omim_to_orpha(diseases: &[Disease], omim_names: &[(u32, String)]) -> Vec<(u32, OrphaCode)> {
    let key = |s: &str| s.trim().to_lowercase();
    let mut by_name: BTreeMap<String, Option<OrphaCode>> = BTreeMap::new();
    for d in diseases {
        by_name
            .entry(key(&d.name))
            .and_modify(|c| *c = None)
            .or_insert(Some(d.code));
    }
    omim_names
        .iter()
        .filter_map(|(n, name)| by_name.get(&key(name)).copied().flatten().map(|c| (*n, c)))
        .collect()
}

fn lookup_in(core: &Core, id: HpoId) -> Lookup {
    let n = id.number();
    if let Ok(i) = core.terms.binary_search_by_key(&n, |t| t.id.number()) {
        return Lookup::Live(TermIdx(i as u32));
    }
    if let Ok(i) = core.aliases.binary_search_by_key(&n, |a| a.0) {
        let (_, target, is_alt) = core.aliases[i];
        return if is_alt {
            Lookup::AltId(target)
        } else {
            Lookup::Replaced(target)
        };
    }
    if core.obsolete.binary_search(&n).is_ok() {
        return Lookup::Obsolete;
    }
    Lookup::Unknown
}
