//! Per-respondent survey files: one CSV row per respondent (docs/formats.md §3).
//!
//! Header: `trust`, `age` (or `year_of_birth` with `--survey-year`), `sex`, then one column per
//! question id holding the option code (blank = not answered). Other columns are ignored and
//! noted once; a column that looks like a question id (`Q` and a digit) but is not one of the
//! instrument's means the file is for another questionnaire, and the file is skipped.

use std::path::Path;

use surveybench_kernel::{Cleaning, HostTally, Instrument, Response};

use super::{Problem, Trusts};

/// Response capacity on the host: as many questions as a [`HostTally`] holds.
pub type HostResponse<'i> = Response<'i, 128>;

enum Column {
    Trust,
    Age,
    YearOfBirth,
    Sex,
    Question(usize),
    Ignored,
}

fn looks_like_question(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next() == Some('Q') && chars.next().is_some_and(|c| c.is_ascii_digit())
}

/// What a cell says about one question.
enum Cell {
    Blank,
    Code(u8),
    Cleaned(Cleaning),
}

fn parse_cell(raw: &str) -> Cell {
    let raw = raw.trim();
    if raw.is_empty() {
        return Cell::Blank;
    }
    if raw.contains([';', '|', ',']) {
        return Cell::Cleaned(Cleaning::MultiTicked);
    }
    raw.parse::<u8>().map_or(Cell::Cleaned(Cleaning::OutOfRange), Cell::Code)
}

/// Reads one respondent file into per-trust tallies. Rows that cannot be read are reported and
/// skipped; cleaned answers are counted in the tally and noted.
pub fn read(
    path: &Path,
    instrument: &'static Instrument<'static>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> Trusts {
    let mut trusts = Trusts::new();
    let mut reader = match csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::error(path, None, format!("cannot read: {e}")));
            return trusts;
        }
    };
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Problem::error(path, Some(1), format!("bad header: {e}")));
            return trusts;
        }
    };
    let Some(columns) = map_columns(path, &header, instrument, survey_year, problems) else {
        return trusts;
    };
    let mut cleaned = 0usize;
    let mut record = csv::StringRecord::new();
    if let Err(e) = HostResponse::new(instrument) {
        problems.push(Problem::error(path, None, format!("instrument too large: {e}")));
        return trusts;
    }
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(csv::Position::line);
                problems.push(Problem::error(path, line, format!("unreadable row, skipped: {e}")));
                continue;
            }
        }
        let line = record.position().map(csv::Position::line);
        let Ok(mut response) = HostResponse::new(instrument) else {
            return trusts;
        };
        match fill(&mut response, &record, &columns, survey_year) {
            Ok((trust, row_cleaned)) => {
                cleaned += row_cleaned;
                let tally = match trusts.entry(trust) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => match HostTally::new(instrument) {
                        Ok(t) => e.insert(Box::new(t)),
                        Err(err) => {
                            problems.push(Problem::error(path, line, format!("cannot tally: {err}")));
                            return trusts;
                        }
                    },
                };
                if let Err(e) = tally.commit(&response) {
                    problems.push(Problem::error(path, line, format!("respondent not counted: {e}")));
                }
            }
            Err(message) => {
                problems.push(Problem::error(path, line, format!("{message}; respondent skipped")))
            }
        }
    }
    if cleaned > 0 {
        problems.push(Problem::note(
            path,
            None,
            format!("{cleaned} answers were invalid codes or multiple ticks: cleaned to not answered and counted (method §2)"),
        ));
    }
    trusts
}

fn map_columns(
    path: &Path,
    header: &csv::StringRecord,
    instrument: &Instrument<'_>,
    survey_year: Option<u16>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Column>> {
    let mut ignored = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    for name in header {
        let column = match name {
            "trust" => Column::Trust,
            "age" => Column::Age,
            "year_of_birth" => Column::YearOfBirth,
            "sex" => Column::Sex,
            id => match instrument.question_index(id) {
                Some(k) => Column::Question(k),
                None if looks_like_question(id) => {
                    problems.push(Problem::error(
                        path,
                        Some(1),
                        format!(
                            "column `{id}` is not a question of instrument {}; file skipped",
                            instrument.id
                        ),
                    ));
                    return None;
                }
                None => {
                    ignored.push(id.to_owned());
                    Column::Ignored
                }
            },
        };
        columns.push(column);
    }
    if !columns.iter().any(|c| matches!(c, Column::Trust)) {
        problems.push(Problem::error(path, Some(1), "no `trust` column; file skipped".to_owned()));
        return None;
    }
    if columns.iter().any(|c| matches!(c, Column::YearOfBirth)) && survey_year.is_none() {
        problems.push(Problem::error(
            path,
            Some(1),
            "`year_of_birth` needs --survey-year; file skipped".to_owned(),
        ));
        return None;
    }
    if !ignored.is_empty() {
        problems.push(Problem::note(path, Some(1), format!("columns ignored: {}", ignored.join(", "))));
    }
    Some(columns)
}

/// Fills `response` from one row; returns the trust code and how many answers were cleaned.
fn fill(
    response: &mut HostResponse<'_>,
    record: &csv::StringRecord,
    columns: &[Column],
    survey_year: Option<u16>,
) -> Result<(String, usize), String> {
    let mut trust = None;
    let (mut age, mut sex, mut cleaned) = (None, None, 0usize);
    for (column, raw) in columns.iter().zip(record.iter()) {
        let raw = raw.trim();
        match column {
            Column::Trust if raw.is_empty() => return Err("empty trust code".to_owned()),
            Column::Trust => trust = Some(raw.to_owned()),
            Column::Age | Column::YearOfBirth if raw.is_empty() => {}
            Column::Age => {
                age = Some(raw.parse::<u16>().map_err(|_| format!("age `{raw}` is not a whole number"))?)
            }
            Column::YearOfBirth => {
                let born = raw.parse::<u16>().map_err(|_| format!("year_of_birth `{raw}` is not a year"))?;
                age = survey_year.and_then(|y| y.checked_sub(born));
            }
            Column::Sex if raw.is_empty() => {}
            Column::Sex => sex = Some(raw.parse::<u8>().map_err(|_| format!("sex `{raw}` is not a code"))?),
            Column::Question(k) => match parse_cell(raw) {
                Cell::Blank => {}
                Cell::Code(code) if response.answer(*k, code).is_ok() => {}
                Cell::Code(_) => {
                    cleaned += 1;
                    response.clean(*k, Cleaning::OutOfRange).map_err(|e| e.to_string())?;
                }
                Cell::Cleaned(why) => {
                    cleaned += 1;
                    response.clean(*k, why).map_err(|e| e.to_string())?;
                }
            },
            Column::Ignored => {}
        }
    }
    response.set_age_sex(age, sex);
    let trust = trust.ok_or("no trust code")?;
    Ok((trust, cleaned))
}
