//! A parser for the HPO annotation file `phenotype.hpoa`, keeping its ORPHA rows (and the
//! names of its OMIM diseases, to map OMIM ids to Orphanet codes where both name the same
//! disease).

use crate::{Error, Frequency, HpoId, Result};

const FILE: &str = "phenotype.hpoa";
const COLUMNS: usize = 12;

/// One ORPHA row of the file.
#[derive(Debug)]
pub(crate) struct RawAnnotation {
    pub orpha: u32,
    pub disease_name: String,
    pub not: bool,
    pub hpo: u32,
    pub frequency: Frequency,
}

/// The parsed file: its version, its ORPHA rows and its OMIM diseases' names.
#[derive(Debug)]
pub(crate) struct RawHpoa {
    pub version: String,
    pub rows: Vec<RawAnnotation>,
    /// `(OMIM number, disease name)`, one per OMIM disease, sorted by number.
    pub omim_names: Vec<(u32, String)>,
}

/// Parses a `phenotype.hpoa` text.
pub(crate) fn parse(text: &str) -> Result<RawHpoa> {
    let mut version = None;
    let mut seen_header = false;
    let mut rows = Vec::new();
    let mut omim_names = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.trim_end_matches('\r');
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(v) = comment
                .strip_prefix("version:")
                .or_else(|| comment.strip_prefix("date:"))
            {
                version = Some(v.trim().to_owned());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !seen_header {
            if !line.starts_with("database_id\tdisease_name\t") {
                return Err(Error::parse(
                    FILE,
                    line_no,
                    "expected the column header `database_id<TAB>disease_name<TAB>...`: not a phenotype.hpoa file",
                ));
            }
            seen_header = true;
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != COLUMNS {
            return Err(Error::parse(
                FILE,
                line_no,
                format!(
                    "expected {COLUMNS} tab-separated columns, found {} (truncated file?)",
                    fields.len()
                ),
            ));
        }
        if let Some(n) = fields[0]
            .strip_prefix("OMIM:")
            .and_then(|n| n.parse::<u32>().ok())
        {
            if omim_names
                .last()
                .is_none_or(|(last, _): &(u32, String)| *last != n)
            {
                omim_names.push((n, fields[1].to_owned()));
            }
            continue;
        }
        let Some(code) = fields[0].strip_prefix("ORPHA:") else {
            continue;
        };
        let err = |m: String| Error::parse(FILE, line_no, m);
        let orpha = code
            .parse::<u32>()
            .map_err(|_| err(format!("bad ORPHA code {:?}", fields[0])))?;
        let hpo = fields[3]
            .parse::<HpoId>()
            .map_err(|e| err(e.to_string()))?
            .number();
        let not = match fields[2] {
            "" => false,
            "NOT" => true,
            other => return Err(err(format!("unknown qualifier {other:?}"))),
        };
        rows.push(RawAnnotation {
            orpha,
            disease_name: fields[1].to_owned(),
            not,
            hpo,
            frequency: frequency(fields[7]).map_err(err)?,
        });
    }
    if !seen_header {
        return Err(Error::parse(
            FILE,
            0,
            "no column header: empty or not a phenotype.hpoa file",
        ));
    }
    let version = version.ok_or_else(|| Error::parse(FILE, 0, "no #version header"))?;
    omim_names.sort_by_key(|(n, _)| *n);
    omim_names.dedup_by_key(|(n, _)| *n);
    Ok(RawHpoa {
        version,
        rows,
        omim_names,
    })
}

/// Reads the frequency column: an HPO frequency term, `n/m`, `x%`, or empty.
pub(crate) fn frequency(s: &str) -> std::result::Result<Frequency, String> {
    let bad = || format!("bad frequency {s:?}");
    Ok(match s {
        "" => Frequency::Unknown,
        "HP:0040280" => Frequency::Obligate,
        "HP:0040281" => Frequency::VeryFrequent,
        "HP:0040282" => Frequency::Frequent,
        "HP:0040283" => Frequency::Occasional,
        "HP:0040284" => Frequency::VeryRare,
        "HP:0040285" => Frequency::Excluded,
        _ if s.ends_with('%') => {
            let v: f64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&v) {
                return Err(bad());
            }
            Frequency::PerMille {
                value: (v * 10.0).round() as u32,
            }
        }
        _ => {
            let (n, m) = s.split_once('/').ok_or_else(bad)?;
            let (n, m) = (n.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if m == 0 || n > m {
                return Err(bad());
            }
            Frequency::Ratio { n, m }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#version: 2025-01-16\ndatabase_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier\taspect\tbiocuration\n";

    #[test]
    fn keeps_orpha_rows() -> Result<()> {
        let text = format!(
            "{HEADER}OMIM:1\tX\t\tHP:0000001\tPMID:1\tPCS\t\t1/2\t\t\tP\tx\nORPHA:558\tMarfan syndrome\t\tHP:0001166\tORPHA:558\tTAS\t\tHP:0040281\t\t\tP\tx\nORPHA:558\tMarfan syndrome\tNOT\tHP:0001250\tORPHA:558\tTAS\t\t\t\t\tP\tx\n"
        );
        let hpoa = parse(&text)?;
        assert_eq!(hpoa.version, "2025-01-16");
        assert_eq!(hpoa.rows.len(), 2);
        assert_eq!(hpoa.rows[0].frequency, Frequency::VeryFrequent);
        assert!(hpoa.rows[1].not);
        assert_eq!(hpoa.omim_names, vec![(1, "X".to_owned())]);
        Ok(())
    }

    #[test]
    fn reports_truncated_rows_with_their_line() {
        let text = format!("{HEADER}ORPHA:558\tMarfan syndrome\t\tHP:00011");
        let err = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("columns"), "{err}");
    }

    #[test]
    fn frequencies() {
        assert_eq!(frequency("3/4"), Ok(Frequency::Ratio { n: 3, m: 4 }));
        assert_eq!(frequency("12.5%"), Ok(Frequency::PerMille { value: 125 }));
        for bad in ["5/0", "5/4", "abc", "120%", "HP:0000001"] {
            assert!(frequency(bad).is_err(), "{bad}");
        }
    }
}
