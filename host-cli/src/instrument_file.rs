//! Instruments loaded at run time: a bundled id or a JSON file (docs/formats.md §1).
//!
//! The JSON is read into owned mirror types, validated by the kernel, and leaked once into the
//! kernel's borrowed `Instrument<'static>` (see docs/design.md).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use surveybench_kernel::{AnswerOption, Filter, Instrument, Question, QuestionKind, Section, bundled};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstrumentDoc {
    id: String,
    title: String,
    provenance: String,
    age_bands: Vec<u8>,
    sections: Vec<SectionDoc>,
    questions: Vec<QuestionDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionDoc {
    id: String,
    title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionDoc {
    id: String,
    text: String,
    section: Option<String>,
    kind: KindDoc,
    options: Vec<OptionDoc>,
    filter: Option<FilterDoc>,
    comparable: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum KindDoc {
    Scored,
    Routing,
    Descriptive,
    AgeBand,
    Sex,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionDoc {
    code: u8,
    label: String,
    score: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterDoc {
    question: String,
    codes: Vec<u8>,
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

impl QuestionDoc {
    fn leak(self) -> Question<'static> {
        let kind = match self.kind {
            KindDoc::Scored => QuestionKind::Scored,
            KindDoc::Routing => QuestionKind::Routing,
            KindDoc::Descriptive => QuestionKind::Descriptive,
            KindDoc::AgeBand => QuestionKind::AgeBand,
            KindDoc::Sex => QuestionKind::Sex,
        };
        let options = self
            .options
            .into_iter()
            .map(|o| AnswerOption { code: o.code, label: leak_str(o.label), score: o.score })
            .collect();
        Question {
            id: leak_str(self.id),
            text: leak_str(self.text),
            section: self.section.map(leak_str),
            kind,
            options: leak_slice(options),
            filter: self
                .filter
                .map(|f| Filter { question: leak_str(f.question), codes: leak_slice(f.codes) }),
            comparable: self.comparable,
        }
    }
}

/// Parses and validates an instrument from JSON text.
///
/// # Errors
/// Malformed JSON (with line and column), or an instrument the kernel rejects.
pub fn parse(json: &str) -> Result<&'static Instrument<'static>> {
    let doc: InstrumentDoc = serde_json::from_str(json).context("not an instrument document")?;
    let sections = doc.sections.into_iter().map(|s| Section { id: leak_str(s.id), title: leak_str(s.title) });
    let instrument = Instrument {
        id: leak_str(doc.id),
        title: leak_str(doc.title),
        provenance: leak_str(doc.provenance),
        age_bands: leak_slice(doc.age_bands),
        sections: leak_slice(sections.collect()),
        questions: leak_slice(doc.questions.into_iter().map(QuestionDoc::leak).collect()),
    };
    if let Err(e) = instrument.validate() {
        let name = |i: u16| instrument.questions.get(usize::from(i)).map_or("?", |q| q.id);
        let at = match e {
            surveybench_kernel::InstrumentError::DuplicateQuestion { question }
            | surveybench_kernel::InstrumentError::OptionCodes { question }
            | surveybench_kernel::InstrumentError::ScoreOutOfRange { question, .. }
            | surveybench_kernel::InstrumentError::ScoringMismatch { question }
            | surveybench_kernel::InstrumentError::UnknownSection { question }
            | surveybench_kernel::InstrumentError::FilterOrder { question }
            | surveybench_kernel::InstrumentError::FilterCode { question, .. }
            | surveybench_kernel::InstrumentError::Demographics { question } => {
                format!(" (question {})", name(question))
            }
            _ => String::new(),
        };
        bail!("invalid instrument: {e}{at}");
    }
    check_capacity(&instrument)?;
    Ok(Box::leak(Box::new(instrument)))
}

/// Refuses, at load, an instrument larger than the host's tallies and responses hold, rather
/// than failing on every respondent later.
fn check_capacity(instrument: &Instrument<'_>) -> Result<()> {
    use surveybench_kernel::tally::{HOST_CELLS, HOST_PAIRS, HOST_QUESTIONS, capacity};
    let needs = [
        ("questions", capacity::questions(instrument), HOST_QUESTIONS),
        ("option cells", capacity::cells(instrument), HOST_CELLS),
        ("question-pair cells", capacity::pairs(instrument), HOST_PAIRS),
    ];
    for (what, needed, room) in needs {
        if needed > room {
            bail!("instrument {} needs {needed} {what}; the host holds {room}", instrument.id);
        }
    }
    Ok(())
}

/// A bundled instrument by id, or else an instrument JSON file at that path.
///
/// # Errors
/// Neither a bundled id nor a readable, valid instrument file.
pub fn load(id_or_path: &str) -> Result<&'static Instrument<'static>> {
    if let Some(instrument) = bundled::by_id(id_or_path) {
        return Ok(instrument);
    }
    let path = Path::new(id_or_path);
    if !path.exists() {
        let ids: Vec<_> = bundled::ALL.iter().map(|i| i.id).collect();
        bail!("`{id_or_path}` is neither a bundled instrument ({}) nor a file", ids.join(", "));
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse(&text).with_context(|| format!("{}", path.display()))
}

/// The instrument as the JSON document `load` accepts back.
///
/// # Errors
/// Only if serialisation fails, which it does not for valid instruments.
pub fn to_json(instrument: &Instrument<'_>) -> Result<String> {
    Ok(serde_json::to_string_pretty(instrument)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_instruments_round_trip_through_json() {
        for instrument in bundled::ALL {
            let json = to_json(instrument).unwrap();
            let back = parse(&json).unwrap();
            assert_eq!(back, instrument);
            assert_eq!(back.content_hash(), instrument.content_hash());
        }
    }

    #[test]
    fn invalid_instruments_are_rejected_with_the_question() {
        let json = to_json(&bundled::FFT).unwrap().replace("\"score\": 60", "\"score\": 61");
        let err = parse(&json).unwrap_err().to_string();
        assert!(err.contains("score above 60") && err.contains("question FFT"), "{err}");
    }

    #[test]
    fn an_instrument_too_large_for_the_host_is_refused_at_load() {
        // One section of 40 questions needs 40*39/2 pairs x 9 strata = 7,020 pair cells.
        let doc: serde_json::Value = serde_json::from_str(&to_json(&bundled::FFT).unwrap()).unwrap();
        let mut big = doc.clone();
        let questions: Vec<serde_json::Value> = (0..40)
            .map(|i| {
                let mut q = doc["questions"][0].clone();
                q["id"] = format!("Q{i}").into();
                q
            })
            .collect();
        big["questions"] = questions.into();
        let err = parse(&big.to_string()).unwrap_err().to_string();
        assert!(err.contains("needs 7020 question-pair cells; the host holds 4096"), "{err}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let json = to_json(&bundled::FFT).unwrap().replacen("\"title\"", "\"colour\": 1, \"title\"", 1);
        assert!(parse(&json).is_err());
    }
}
