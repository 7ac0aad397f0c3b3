//! The simulated respondents as a respondent CSV (docs/formats.md), one row each, with the
//! stray answers paper questionnaires carry.

use surveybench_kernel::{Instrument, QuestionKind};

use super::Respondent;

pub(super) fn csv_header(instrument: &Instrument<'_>) -> String {
    let mut s = String::from("trust,age,sex");
    for q in
        instrument.questions.iter().filter(|q| !matches!(q.kind, QuestionKind::AgeBand | QuestionKind::Sex))
    {
        s.push(',');
        s.push_str(q.id);
    }
    s.push('\n');
    s
}

pub(super) fn csv_row(csv: &mut String, instrument: &Instrument<'_>, trust: &str, p: &Respondent) {
    csv.push_str(trust);
    csv.push(',');
    if let Some(age) = p.age {
        push_number(csv, age);
    }
    csv.push(',');
    if let Some(sex) = p.sex {
        push_number(csv, sex.into());
    }
    for ((k, q), &code) in instrument.questions.iter().enumerate().zip(&p.answers) {
        if matches!(q.kind, QuestionKind::AgeBand | QuestionKind::Sex) {
            continue;
        }
        // Stray answers only go where the kiosk path has none (the question did not apply).
        let stray = p.stray.iter().find(|(s, _)| *s == k).map(|s| s.1);
        csv.push(',');
        if let Some(c) = Some(code).filter(|&c| c != 0).or(stray) {
            push_number(csv, c.into());
        }
    }
    csv.push('\n');
}

/// Appends `n` in decimal, as `write!` would (a million rows a year make formatting count).
fn push_number(text: &mut String, n: u16) {
    if let Ok(digit) = u8::try_from(n)
        && digit < 10
    {
        text.push(char::from(b'0' + digit));
        return;
    }
    let mut digits = [0u8; 5];
    let mut rest = n;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    text.extend(digits[start..].iter().map(|&d| char::from(d)));
}
