//! The commands: load, ingest, benchmark, render, write (`run` is the whole program but for
//! exit-code handling).

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use surveybench_kernel::Instrument;

use crate::cli::{
    Cli, Command, Format, InstrumentAction, KeysAction, MethodAction, MonitorArgs, MonitorFormat,
    ReportFormat, StudyArgs,
};
use crate::ingest::{self, Dataset, Options};
use crate::keyring::Keyring;
use crate::profile::Profile;
use crate::reference::LastYear;
use crate::report::html::monitor::PastLook;
use crate::terminal::inert;
use crate::{benchmark, collect, instrument_file, keys, monitor, output, reference, report, simulate};

/// Exit code when the run finished but some input was skipped, or some report of
/// `--all-trusts` could not be written (documented in the README).
pub const EXIT_SKIPPED: u8 = 2;

/// How a successful run went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every input was used.
    Clean,
    /// Output was produced, but some input was skipped or some output could not be written.
    Skipped,
}

impl Outcome {
    /// `Skipped` if either is.
    #[must_use]
    pub fn or(self, other: Outcome) -> Outcome {
        if self == Outcome::Skipped { self } else { other }
    }
}

/// Runs one command.
///
/// # Errors
/// Anything that stops the command; skipped input is an [`Outcome`], not an error.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Benchmark { study, format, out } => {
            let study = Study::load(&study)?;
            let b = study.benchmark();
            let text = match format {
                Format::Json => report::json::render(&b)?,
                Format::Csv => report::csv::render(&b)?,
                Format::Text => b
                    .trusts
                    .iter()
                    .map(|t| report::text::render(&b, &t.trust))
                    .collect::<Result<Vec<_>>>()?
                    .join("\n"),
            };
            emit(out.as_deref(), &text)?;
            Ok(study.outcome())
        }
        Command::Report { trust, all_trusts, format, study, out } => {
            if format == ReportFormat::Pdf {
                if out.is_none() {
                    bail!("--format pdf needs --out FILE");
                }
                // Stop before any work, not once per trust under --all-trusts.
                report::pdf::chromium()?;
            }
            let study = Study::load(&study)?;
            let b = study.benchmark();
            let written = match (trust, out) {
                (_, Some(dir)) if all_trusts => write_all_reports(&b, format, &dir)?,
                (Some(trust), out) => {
                    write_report(&b, &trust, format, out.as_deref())?;
                    Outcome::Clean
                }
                _ => bail!("give --trust CODE, or --all-trusts with --out DIR"),
            };
            Ok(study.outcome().or(written))
        }
        Command::Reference { from, out, instrument } => {
            for path in reference::write(&from, instrument.as_deref(), &out)? {
                println!("{}", path.display());
            }
            Ok(Outcome::Clean)
        }
        Command::Monitor(args) => run_monitor(&args),
        Command::Simulate { instrument, seed, out, trusts, respondents, weekly, degrade, from_week, by } => {
            let instrument = instrument_file::load(&instrument)?;
            let plan = simulate::Plan { seed, trusts, respondents, ..simulate::Plan::national(seed) };
            let dirs = if weekly {
                simulate::simulate_weekly(instrument, &plan, &weekly_plan(degrade, from_week, by)?, &out)?
            } else {
                simulate::simulate(instrument, &plan, &out)?
            };
            for dir in dirs {
                println!("{}", dir.display());
            }
            Ok(Outcome::Clean)
        }
        Command::Instrument { action: InstrumentAction::Show { id } } => {
            emit(None, &instrument_file::to_json(instrument_file::load(&id)?)?)?;
            Ok(Outcome::Clean)
        }
        Command::Instrument { action: InstrumentAction::List } => {
            for i in surveybench_kernel::bundled::ALL {
                println!("{}\t{}", i.id, i.title);
            }
            Ok(Outcome::Clean)
        }
        Command::Method { action: MethodAction::Show } => {
            emit(None, &Profile::npsp_2024().to_toml()?)?;
            Ok(Outcome::Clean)
        }
        Command::Collect { from, out, idle_timeout, max_exports, keyring } => {
            collect::run(&collect::Options {
                from: collect::source::Source::from_arg(from.as_os_str()),
                out,
                idle_timeout,
                max_exports,
                keyring: Keyring::load(&keyring)?,
            })
        }
        Command::Keys { action: KeysAction::New { device, site, period, out, keyring } } => {
            let written = keys::new(&device, &site, &period, &out, keyring.as_deref())?;
            println!("device {device} key {}", written.id);
            println!(
                "  provisioning image (secret; load it into the kiosk, then delete it): {}",
                written.image.display()
            );
            println!("  public key added to: {}", written.keyring.display());
            Ok(Outcome::Clean)
        }
        Command::Demo { out } => demo(&out),
    }
}

/// `surveybench monitor`: ingest this year's inputs so far and look at them against last
/// year's benchmark (method.md §12).
fn run_monitor(args: &MonitorArgs) -> Result<Outcome> {
    let history: Vec<PastLook> = args.history.iter().map(|p| PastLook::load(p)).collect::<Result<_>>()?;
    if !history.is_empty() && args.format != MonitorFormat::Html {
        bail!("--history is charted by --format html only");
    }
    let last = LastYear::load(&args.reference)?;
    let instrument = last
        .instrument(args.instrument.as_deref())
        .with_context(|| format!("{}", args.reference.display()))?;
    let mut profile = last.profile.clone();
    if let Some(path) = &args.method {
        profile.monitor = Profile::load(path)?.monitor;
    }
    let options = Options {
        strict: args.strict,
        survey_year: args.survey_year,
        period: args.period.clone(),
        keyring: std::sync::Arc::new(Keyring::load(&args.keyring)?),
        allow_unsigned: args.allow_unsigned,
    };
    let current = ingest::ingest(instrument, &args.inputs, &options)?;
    report_problems(instrument, "this year", &current);
    if current.trusts.is_empty() {
        bail!("no usable input: no trust has any respondent");
    }
    let look = monitor::look(instrument, &last, &profile, &current, args.label.as_deref());
    let text = match args.format {
        MonitorFormat::Text => monitor::to_text(&look),
        MonitorFormat::Json => monitor::to_json(&look)?,
        MonitorFormat::Html => report::html::monitor::render(&look, &history, &profile.expected_range)?,
    };
    emit(args.out.as_deref(), &text)?;
    Ok(if current.skipped_any() { Outcome::Skipped } else { Outcome::Clean })
}

/// Writes `text` to the file `out` (whole or not at all), or to standard output.
fn emit(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => output::write(path, text.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                stdout.write_all(b"\n")?;
            }
            Ok(())
        }
    }
}

/// Writes one trust's report in `format` to `out` (standard output for text and HTML).
fn write_report(
    b: &benchmark::Benchmark,
    trust: &str,
    format: ReportFormat,
    out: Option<&Path>,
) -> Result<()> {
    match (format, out) {
        (ReportFormat::Text, out) => emit(out, &report::text::render(b, trust)?),
        (ReportFormat::Html, out) => emit(out, &report::html::render(b, trust)?),
        (ReportFormat::Pdf, Some(out)) => report::pdf::write(&report::html::render(b, trust)?, out),
        (ReportFormat::Pdf, None) => bail!("--format pdf needs --out FILE"),
    }
}

/// Writes every trust's report into `dir` (named by [`report::file_name`]), and `index.html`
/// linking them. A report that cannot be written is reported, naming the trust and the file,
/// and the rest are still written; the outcome is then [`Outcome::Skipped`].
///
/// # Errors
/// `dir` cannot be created, or `index.html` cannot be written.
fn write_all_reports(b: &benchmark::Benchmark, format: ReportFormat, dir: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut files = Vec::new();
    for t in &b.trusts {
        let name = report::file_name(&t.trust, format.extension());
        let path = dir.join(&name);
        match write_report(b, &t.trust, format, Some(&path)) {
            Ok(()) => files.push(Some(name)),
            Err(e) => {
                let message =
                    format!("report for trust `{}` not written to {}: {e:#}", t.trust, path.display());
                eprintln!("surveybench: error: {}", inert(&message));
                files.push(None);
            }
        }
    }
    let index = dir.join("index.html");
    output::write(&index, report::html::index(b, &files).as_bytes())?;
    let written = files.iter().flatten().count();
    let index_name = index.display().to_string();
    eprintln!("surveybench: {written} of {} reports and {} written", files.len(), inert(&index_name));
    Ok(if written == files.len() { Outcome::Clean } else { Outcome::Skipped })
}

/// An instrument, a profile, and one or two years of ingested data.
struct Study {
    instrument: &'static Instrument<'static>,
    profile: Profile,
    current: Dataset,
    previous: Option<Dataset>,
}

impl Study {
    fn load(args: &StudyArgs) -> Result<Self> {
        let keyring = std::sync::Arc::new(Keyring::load(&args.keyring)?);
        let options = Options {
            strict: args.strict,
            survey_year: args.survey_year,
            period: args.period.clone(),
            keyring,
            allow_unsigned: args.allow_unsigned,
        };
        let instrument = instrument_file::load(&args.instrument)?;
        let profile = match &args.method {
            Some(path) => Profile::load(path)?,
            None => Profile::npsp_2024(),
        };
        if profile.age_bands != instrument.age_bands {
            bail!(
                "method profile {} has age bands {:?} but instrument {} has {:?}; tallies cannot be re-stratified",
                profile.name,
                profile.age_bands,
                instrument.id,
                instrument.age_bands
            );
        }
        let mut current_inputs = args.inputs.clone();
        current_inputs.extend(args.frame.clone());
        let current = ingest::ingest(instrument, &current_inputs, &options)?;
        report_problems(instrument, "this year", &current);
        if current.trusts.is_empty() {
            bail!("no usable input: no trust has any respondent");
        }
        let previous = if args.previous.is_empty() {
            None
        } else {
            let p = ingest::ingest(instrument, &args.previous, &Options { period: None, ..options.clone() })?;
            report_problems(instrument, "previous year", &p);
            Some(p)
        };
        Ok(Self { instrument, profile, current, previous })
    }

    fn benchmark(&self) -> benchmark::Benchmark {
        benchmark::benchmark(&benchmark::Inputs {
            instrument: self.instrument,
            profile: &self.profile,
            current: &self.current,
            previous: self.previous.as_ref(),
        })
    }

    fn outcome(&self) -> Outcome {
        let skipped = self.current.skipped_any() || self.previous.as_ref().is_some_and(Dataset::skipped_any);
        if skipped { Outcome::Skipped } else { Outcome::Clean }
    }
}

/// Prints every problem, one line each (input text made inert), each file's totals, and a
/// summary line.
fn report_problems(instrument: &Instrument<'_>, year: &str, data: &Dataset) {
    for p in &data.problems {
        eprintln!("{}", inert(&p.to_string()));
    }
    for totals in &data.inputs {
        eprintln!("surveybench: {year}: {}", inert(&totals.to_string()));
    }
    let respondents: u64 = data.trusts.values().map(|t| u64::from(t.counters().completed)).sum();
    let skipped = data.problems.iter().filter(|p| p.skipped).count();
    let c = benchmark::Cleaning::of(instrument, data.trusts.values().map(|t| &**t));
    if c != benchmark::Cleaning::default() {
        eprintln!(
            "surveybench: {year}: answers not counted (method §2): {} removed by routing, {} invalid codes, {} multiple ticks",
            c.removed_by_routing, c.invalid, c.multi_ticked
        );
    }
    eprintln!(
        "surveybench: {year}: {} trusts, {respondents} respondents, {skipped} inputs skipped",
        data.trusts.len()
    );
}

/// `simulate --weekly`'s degradation from its flags: `--degrade` needs `--from-week` and `--by`.
fn weekly_plan(trusts: Vec<String>, from_week: Option<u32>, by: Option<f64>) -> Result<simulate::Weekly> {
    if trusts.is_empty() {
        return Ok(simulate::Weekly::default());
    }
    let (Some(from_week), Some(points)) = (from_week, by) else {
        bail!("--degrade {} needs --from-week W (1 to 52) and --by POINTS", trusts.join(","));
    };
    Ok(simulate::Weekly { degrade: Some(simulate::Degrade { trusts, from_week, points }) })
}

/// `surveybench demo`: simulate, benchmark, and write JSON, CSV and one trust's report.
fn demo(out: &Path) -> Result<Outcome> {
    let instrument = surveybench_kernel::bundled::by_id("cmh-2024").context("bundled cmh-2024")?;
    let data = out.join("data");
    let years = simulate::simulate(instrument, &simulate::Plan::national(2024), &data)?;
    let [before, now] = years.as_slice() else { bail!("simulation wrote {} years, expected 2", years.len()) };
    let study = Study::load(&StudyArgs {
        instrument: instrument.id.to_owned(),
        inputs: vec![now.join("devices")],
        previous: vec![before.join("devices"), before.join("frame.csv")],
        frame: Some(now.join("frame.csv")),
        method: None,
        survey_year: None,
        period: None,
        keyring: vec![now.join("keyring.toml"), before.join("keyring.toml")],
        allow_unsigned: false,
        strict: false,
    })?;
    let b = study.benchmark();
    // Show the trust with the most questions outside "about the same": the most to read.
    let banded = |t: &benchmark::TrustSummary| {
        let c = &t.bands;
        c.much_better + c.better + c.somewhat_better + c.somewhat_worse + c.worse + c.much_worse
    };
    let trust = b.trusts.iter().max_by_key(|t| banded(t)).map(|t| t.trust.clone()).context("no trust")?;
    let files = [
        (out.join("benchmark.json"), report::json::render(&b)?),
        (out.join("benchmark.csv"), report::csv::render(&b)?),
        (out.join(report::file_name(&trust, "txt")), report::text::render(&b, &trust)?),
        (out.join(report::file_name(&trust, "html")), report::html::render(&b, &trust)?),
    ];
    for (path, text) in &files {
        output::write(path, text.as_bytes())?;
    }
    println!(
        "surveybench demo: simulated {} trusts over two years into {}",
        b.national.trusts,
        data.display()
    );
    println!("  benchmark (JSON): {}", files[0].0.display());
    println!("  benchmark (CSV):  {}", files[1].0.display());
    println!("  report for {trust}: {}", files[2].0.display());
    println!("  report for {trust} (HTML): {}", files[3].0.display());
    Ok(study.outcome())
}
