//! The instrument as a flat CSV for `svymean.R`: one row per answer option, in questionnaire
//! order, derived from the instrument JSON (`surveybench instrument show ID`) only. Shared by
//! the R cross-check test and `cargo xtask bench` (both include this file by path).

use std::fmt::Write as _;

use serde_json::Value;

fn csv_field(s: &str) -> String {
    assert!(!s.contains([',', '"', '\n']), "unexpected CSV metacharacter in instrument field {s:?}");
    s.to_owned()
}

/// One row per answer option, in questionnaire order, from the instrument JSON document.
pub fn instrument_csv(doc: &Value) -> String {
    let mut out =
        String::from("question_index,id,kind,section,code,score_units,filter_question,filter_codes\n");
    let questions = doc["questions"].as_array().expect("instrument has questions");
    for (k, q) in questions.iter().enumerate() {
        let id = csv_field(q["id"].as_str().expect("question id"));
        let kind = csv_field(q["kind"].as_str().expect("question kind"));
        let section = q["section"].as_str().map(csv_field).unwrap_or_default();
        let (fq, fc) = match &q["filter"] {
            Value::Null => (String::new(), String::new()),
            f => (
                csv_field(f["question"].as_str().expect("filter question")),
                f["codes"]
                    .as_array()
                    .expect("filter codes")
                    .iter()
                    .map(|c| c.as_u64().expect("filter code").to_string())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
        };
        let options = q["options"].as_array().expect("question options");
        assert!(!options.is_empty(), "question {id} has no options");
        for o in options {
            let code = o["code"].as_u64().expect("option code");
            let units = o["score"].as_u64().map(|s| s.to_string()).unwrap_or_default();
            let _ = writeln!(out, "{k},{id},{kind},{section},{code},{units},{fq},{fc}");
        }
    }
    out
}
