//! Last year's national benchmark as a reference for this year (docs/formats.md §11): read
//! back from the benchmark JSON, checked, and written for devices (`reference.bin`, the
//! kernel's `SBRF` image) and for people (`reference.json`, the same figures).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use surveybench_kernel::Instrument;
use surveybench_kernel::reference::{self as image, Kind};

use crate::benchmark;
use crate::profile::Profile;

/// The `schema` field of `reference.json`.
pub const SCHEMA: &str = "surveybench-reference";
/// Its version, and the binary image's.
pub const VERSION: u16 = image::VERSION;

/// What `monitor` and `reference` read of a benchmark JSON (`surveybench-benchmark` v1).
#[derive(Clone, Debug)]
pub struct LastYear {
    /// The instrument's id, as the benchmark names it.
    pub instrument_id: String,
    /// Its content hash, 16 hex digits.
    pub content_hash: String,
    /// The method profile the benchmark used.
    pub profile: Profile,
    /// Its scored questions, questionnaire order.
    pub questions: Vec<LastItem>,
    /// Its sections, report order.
    pub sections: Vec<LastItem>,
}

/// One question or section of last year's benchmark.
#[derive(Clone, Debug, Deserialize)]
pub struct LastItem {
    /// Question or section id.
    pub id: String,
    /// National figures; `None` when no trust had a score.
    pub national: Option<LastNational>,
    /// Each trust's result (only `trust` and `n` are read).
    pub results: Vec<LastResult>,
}

/// National figures of one item (method.md §4, §7, §8).
#[derive(Clone, Debug, Deserialize)]
pub struct LastNational {
    /// National average.
    pub mean: f64,
    /// Additive between-trust variance.
    pub tau2: f64,
    /// Trusts with a score.
    pub trusts: u32,
    /// Questions: national shares of the known strata (absent for sections).
    pub shares: Option<Vec<f64>>,
}

/// One trust's result on one item, as far as the reference needs it.
#[derive(Clone, Debug, Deserialize)]
pub struct LastResult {
    /// Trust code.
    pub trust: String,
    /// Respondents behind the result (for sections, the fewest of its questions).
    pub n: u32,
}

#[derive(Deserialize)]
struct InstrumentHead {
    id: String,
    content_hash: String,
}

impl LastYear {
    /// Reads and checks a benchmark JSON file.
    ///
    /// # Errors
    /// Unreadable file, not JSON, another schema or version, or a missing or bad field (named,
    /// with the item it is in).
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses and checks benchmark JSON text.
    ///
    /// # Errors
    /// As [`LastYear::load`].
    pub fn parse(text: &str) -> Result<Self> {
        let doc: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
        let (schema, version) = (&doc["schema"], &doc["version"]);
        if schema.as_str() != Some(benchmark::SCHEMA)
            || version.as_u64() != Some(u64::from(benchmark::VERSION))
        {
            bail!(
                "not a benchmark this version reads: schema {schema}, version {version}; expected \"{}\" version {}",
                benchmark::SCHEMA,
                benchmark::VERSION
            );
        }
        let field = |name: &str| doc.get(name).cloned().with_context(|| format!("field `{name}` missing"));
        let head: InstrumentHead = serde_json::from_value(field("instrument")?).context("instrument")?;
        let profile: Profile = serde_json::from_value(field("profile")?).context("profile")?;
        profile.check().context("profile")?;
        let items = |name: &str| -> Result<Vec<LastItem>> {
            let list = field(name)?;
            let list = list.as_array().with_context(|| format!("`{name}` is not a list"))?;
            list.iter()
                .enumerate()
                .map(|(i, v)| serde_json::from_value(v.clone()).with_context(|| format!("{name}[{i}]")))
                .collect()
        };
        let last = Self {
            instrument_id: head.id,
            content_hash: head.content_hash,
            profile,
            questions: items("questions")?,
            sections: items("sections")?,
        };
        last.check_shares()?;
        Ok(last)
    }

    /// Every question with national figures must carry its shares, one per known stratum.
    fn check_shares(&self) -> Result<()> {
        let known = 2 * self.profile.age_bands.len();
        for (i, q) in self.questions.iter().enumerate() {
            let Some(national) = &q.national else { continue };
            let Some(shares) = &national.shares else {
                bail!(
                    "questions[{i}] ({}): national.shares missing (a benchmark written before \
                     surveybench recorded them: run `surveybench benchmark` on last year's inputs again)",
                    q.id
                );
            };
            let valid = shares.iter().all(|p| (0.0..=1.0).contains(p));
            if !(shares.len() == known || shares.is_empty()) || !valid {
                bail!(
                    "questions[{i}] ({}): national.shares must be {known} numbers in [0, 1], one per known stratum",
                    q.id
                );
            }
        }
        Ok(())
    }

    /// The instrument the benchmark was made with: bundled by its id, or `instrument` (an id
    /// or JSON file), which must have the benchmark's content hash.
    ///
    /// # Errors
    /// Unknown instrument, or another content hash.
    pub fn instrument(&self, instrument: Option<&str>) -> Result<&'static Instrument<'static>> {
        let loaded = crate::instrument_file::load(instrument.unwrap_or(&self.instrument_id))?;
        let hash = format!("{:016x}", loaded.content_hash());
        if hash != self.content_hash {
            bail!(
                "instrument {} has content hash {hash}, but the benchmark was made with {} ({}): not the same questionnaire",
                loaded.id,
                self.instrument_id,
                self.content_hash
            );
        }
        if self.profile.age_bands != loaded.age_bands {
            bail!("the benchmark's profile has other age bands than instrument {}", loaded.id);
        }
        Ok(loaded)
    }
}

/// A reference as people read it (`reference.json`): the figures of `reference.bin`, one for one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reference {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Always [`VERSION`].
    pub version: u16,
    /// The instrument: id and content hash.
    pub instrument: InstrumentRef,
    /// Lower bounds of the age bands (method.md §3).
    pub age_bands: Vec<u8>,
    /// Strata, 2 x age bands + 1 (the last is unknown).
    pub strata: usize,
    /// The profile's suppression threshold (method.md §5).
    pub min_respondents: u32,
    /// The profile's weight cap (method.md §4).
    pub weight_cap: f64,
    /// The profile's weight of the unknown stratum (method.md §4).
    pub unknown_stratum_weight: f64,
    /// The profile's band cuts of adjusted z (method.md §8).
    pub z: Cuts,
    /// Scored questions, questionnaire order.
    pub questions: Vec<ReferenceItem>,
    /// Sections, report order.
    pub sections: Vec<ReferenceItem>,
}

/// The instrument a reference belongs to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstrumentRef {
    /// Id.
    pub id: String,
    /// Content hash, 16 hex digits.
    pub content_hash: String,
}

/// Band cuts (method.md §8).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cuts {
    /// |z| above: somewhat better or worse.
    pub somewhat: f64,
    /// |z| above: better or worse.
    pub clear: f64,
    /// |z| above: much better or worse.
    pub much: f64,
}

/// One question's or section's national figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceItem {
    /// Question or section id.
    pub id: String,
    /// Position in the instrument's questions (or sections), 0-based.
    pub index: u16,
    /// Trusts with a score last year.
    pub trusts: u32,
    /// National average and tau^2; `None` when no trust had a score.
    pub national: Option<Dispersion>,
    /// Questions only: national share per known stratum (method.md §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<Vec<f64>>,
}

/// National average and between-trust variance (method.md §7, §8).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Dispersion {
    /// National average y0.
    pub mean: f64,
    /// tau^2.
    pub tau2: f64,
}

impl Reference {
    /// The reference of last year's benchmark for `instrument`.
    ///
    /// # Errors
    /// An item the instrument does not have (or not as a scored question), or too many items.
    pub fn of(last: &LastYear, instrument: &Instrument<'_>) -> Result<Self> {
        let known = instrument.strata() - 1;
        let position = |id: &str, question: bool| -> Result<u16> {
            let found = if question {
                instrument.questions.iter().position(|q| q.id == id && q.is_scored())
            } else {
                instrument.sections.iter().position(|s| s.id == id)
            };
            let at = found.with_context(|| {
                format!(
                    "instrument {} has no {} `{id}`",
                    instrument.id,
                    if question { "scored question" } else { "section" }
                )
            })?;
            Ok(u16::try_from(at)?)
        };
        let item = |it: &LastItem, question: bool| -> Result<ReferenceItem> {
            let shares = question.then(|| {
                let given = it.national.as_ref().and_then(|n| n.shares.clone()).unwrap_or_default();
                if given.is_empty() { vec![0.0; known] } else { given }
            });
            Ok(ReferenceItem {
                id: it.id.clone(),
                index: position(&it.id, question)?,
                trusts: it.national.as_ref().map_or(0, |n| n.trusts),
                national: it.national.as_ref().map(|n| Dispersion { mean: n.mean, tau2: n.tau2 }),
                shares,
            })
        };
        let p = &last.profile;
        Ok(Self {
            schema: SCHEMA,
            version: VERSION,
            instrument: InstrumentRef {
                id: instrument.id.to_owned(),
                content_hash: last.content_hash.clone(),
            },
            age_bands: instrument.age_bands.to_vec(),
            strata: instrument.strata(),
            min_respondents: p.suppression.min_respondents,
            weight_cap: p.standardisation.weight_cap,
            unknown_stratum_weight: p.standardisation.unknown_stratum_weight,
            z: Cuts {
                somewhat: p.expected_range.z_somewhat,
                clear: p.expected_range.z_clear,
                much: p.expected_range.z_much,
            },
            questions: last.questions.iter().map(|q| item(q, true)).collect::<Result<_>>()?,
            sections: last.sections.iter().map(|s| item(s, false)).collect::<Result<_>>()?,
        })
    }

    /// `reference.json`: pretty-printed, trailing newline.
    ///
    /// # Errors
    /// Only if serialisation fails.
    pub fn to_json(&self) -> Result<String> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// `reference.bin`: the kernel's `SBRF` image (docs/formats.md §11).
    ///
    /// # Errors
    /// An id too long or not plain, too many items, or a value the image refuses.
    pub fn to_image(&self) -> Result<Vec<u8>> {
        let hash = u64::from_str_radix(&self.instrument.content_hash, 16).context("content hash")?;
        let header = image::Header {
            instrument_hash: hash,
            instrument_id: heapless::String::try_from(self.instrument.id.as_str()).map_err(|_| {
                anyhow::anyhow!(
                    "instrument id `{}` is longer than {} bytes",
                    self.instrument.id,
                    image::INSTRUMENT_ID_LEN
                )
            })?,
            age_bands: heapless::Vec::from_slice(&self.age_bands)
                .map_err(|_| anyhow::anyhow!("too many age bands"))?,
            questions: u16::try_from(self.questions.len()).context("too many questions")?,
            sections: u16::try_from(self.sections.len()).context("too many sections")?,
            min_respondents: self.min_respondents,
            weight_cap: self.weight_cap,
            unknown_stratum_weight: self.unknown_stratum_weight,
            z: [self.z.somewhat, self.z.clear, self.z.much],
        };
        let records = self
            .questions
            .iter()
            .map(|q| (Kind::Question, q))
            .chain(self.sections.iter().map(|s| (Kind::Section, s)))
            .map(|(kind, it)| record(kind, it))
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![0u8; image::image_len(header.known(), records.len())];
        let n = image::encode(&header, &records, &mut out).map_err(|e| anyhow::anyhow!("{e}"))?;
        out.truncate(n);
        Ok(out)
    }
}

fn record(kind: Kind, it: &ReferenceItem) -> Result<image::Record> {
    let id = heapless::String::try_from(it.id.as_str())
        .map_err(|_| anyhow::anyhow!("item id `{}` is longer than {} bytes", it.id, image::ITEM_ID_LEN))?;
    let shares = heapless::Vec::from_slice(it.shares.as_deref().unwrap_or_default())
        .map_err(|_| anyhow::anyhow!("{}: too many strata", it.id))?;
    Ok(image::Record {
        kind,
        index: it.index,
        id,
        trusts: it.trusts,
        national: it.national.map(|d| (d.mean, d.tau2)),
        shares,
    })
}

/// `surveybench reference`: writes `DIR/reference.bin` and `DIR/reference.json` from the
/// benchmark JSON `from`; returns their paths.
///
/// # Errors
/// As [`LastYear::load`], [`Reference::of`] and [`Reference::to_image`]; a file that cannot
/// be written.
pub fn write(from: &Path, instrument: Option<&str>, dir: &Path) -> Result<[std::path::PathBuf; 2]> {
    let last = LastYear::load(from)?;
    let instrument = last.instrument(instrument).with_context(|| format!("{}", from.display()))?;
    let reference = Reference::of(&last, instrument).with_context(|| format!("{}", from.display()))?;
    let bin = reference.to_image()?;
    let json = reference.to_json()?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let paths = [dir.join("reference.bin"), dir.join("reference.json")];
    crate::output::write(&paths[0], &bin)?;
    crate::output::write(&paths[1], json.as_bytes())?;
    Ok(paths)
}
