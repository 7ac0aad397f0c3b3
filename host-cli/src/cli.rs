//! Command-line flags (clap derive), validated into what each command needs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Trust benchmark reports from kiosk tallies and survey files.
#[derive(Debug, Parser)]
#[command(name = "surveybench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats of `benchmark`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The versioned benchmark model, unrounded.
    Json,
    /// One row per trust and item, unrounded.
    Csv,
    /// A readable summary of every trust's headline figures.
    Text,
}

/// Output formats of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Plain text.
    Text,
    /// One self-contained HTML page with charts (inline CSS and SVG, no scripts).
    Html,
    /// The HTML page printed to PDF by headless Chromium.
    Pdf,
}

impl ReportFormat {
    /// The file extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Text => "txt",
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }
}

/// Output formats of `monitor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MonitorFormat {
    /// Per trust, its flagged items in the report's band words, then counts.
    Text,
    /// The versioned monitor model (`surveybench-monitor` v1), unrounded.
    Json,
    /// One self-contained page: flagged trusts first, a chart and a table for every item
    /// flagged at any look (earlier looks from `--history`).
    Html,
}

/// What `monitor` looks at.
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Last year's benchmark JSON (`benchmark --format json`), the expected range to look against.
    #[arg(long, value_name = "BENCHMARK.json")]
    pub reference: PathBuf,
    /// This year's inputs so far: device exports, respondent CSVs, or folders of them.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Instrument id or JSON file (default: the benchmark's, bundled); must have the
    /// benchmark's content hash.
    #[arg(long)]
    pub instrument: Option<String>,
    /// Method profile TOML whose `[monitor]` section to use (default: the benchmark's profile);
    /// standardisation, suppression and band cuts always come from the benchmark.
    #[arg(long)]
    pub method: Option<PathBuf>,
    /// Keyring of the kiosks whose signed exports may count (repeat for several files).
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<PathBuf>,
    /// Also count unsigned (version 1) device exports.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// The survey period device exports must report.
    #[arg(long)]
    pub period: Option<String>,
    /// Survey year, for respondent files with `year_of_birth`.
    #[arg(long)]
    pub survey_year: Option<u16>,
    /// Stop at the first input error instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: MonitorFormat,
    /// What this look is called, e.g. "week 26" (kept in the JSON, shown on the page).
    #[arg(long)]
    pub label: Option<String>,
    /// Earlier looks, oldest first (their `--format json` files), charted before this one by
    /// `--format html`.
    #[arg(long, value_name = "LOOK.json")]
    pub history: Vec<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What a benchmark is computed from: shared by `benchmark` and `report`.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {
    /// Bundled instrument id (cmh-2024, fft) or instrument JSON file.
    #[arg(long, default_value = "cmh-2024")]
    pub instrument: String,
    /// This year's inputs: device exports, respondent CSVs, sample frames, or folders of them.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Last year's inputs, for change over time (repeat the flag for several: one value each,
    /// so a path after it is never mistaken for last year's).
    #[arg(long)]
    pub previous: Vec<PathBuf>,
    /// A sample frame CSV (`trust,invited,undeliverable,deceased`) for this year.
    #[arg(long)]
    pub frame: Option<PathBuf>,
    /// Method profile TOML (default: built-in npsp-2024).
    #[arg(long)]
    pub method: Option<PathBuf>,
    /// Survey year, for respondent files with `year_of_birth`.
    #[arg(long)]
    pub survey_year: Option<u16>,
    /// The survey period device exports must report (their `period` field, e.g. 2024); an
    /// export for another period is an error. Last year's exports are not checked.
    #[arg(long)]
    pub period: Option<String>,
    /// Keyring of the kiosks whose signed exports may count (repeat for several files). A
    /// device export counts only if its signature verifies against it and the keyring allows
    /// its device, site and period; every other export is an error naming the file and why.
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<PathBuf>,
    /// Also count unsigned (version 1) device exports, gathered before kiosks signed; the
    /// benchmark JSON names every file that had any.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Stop at the first input error instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole national benchmark.
    Benchmark {
        /// Instrument, inputs, profile.
        #[command(flatten)]
        study: StudyArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// One trust's report (text, HTML or PDF), in the published report's order.
    Report {
        /// Trust code.
        #[arg(long, required_unless_present = "all_trusts", conflicts_with = "all_trusts")]
        trust: Option<String>,
        /// Every trust's report into the folder `--out`, with an index.html linking them.
        #[arg(long, requires = "out")]
        all_trusts: bool,
        /// Output format; `pdf` needs `--out` and Chromium.
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// Instrument, inputs, profile.
        #[command(flatten)]
        study: StudyArgs,
        /// Write here instead of standard output (a folder with `--all-trusts`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// From last year's benchmark JSON, what a device needs to standardise and band:
    /// `DIR/reference.bin` (for kiosks) and `DIR/reference.json` (the same, for people).
    Reference {
        /// Last year's benchmark JSON (`benchmark --format json`).
        #[arg(long, value_name = "BENCHMARK.json")]
        from: PathBuf,
        /// The folder to write both files in (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Instrument id or JSON file (default: the benchmark's, bundled); must have the
        /// benchmark's content hash.
        #[arg(long)]
        instrument: Option<String>,
    },
    /// In-year early warning: this year's inputs so far against last year's expected range,
    /// per trust and item, with a sequential boundary that keeps false alarms at most the
    /// profile's alpha however often it is run (method.md §12).
    Monitor(MonitorArgs),
    /// A simulated national data set for two consecutive years.
    Simulate {
        /// Bundled instrument id or instrument JSON file.
        #[arg(long, default_value = "cmh-2024")]
        instrument: String,
        /// Seed; the same seed gives the same files.
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Number of trusts.
        #[arg(long, default_value_t = 53)]
        trusts: usize,
        /// Respondents per year, all trusts together.
        #[arg(long, default_value_t = 14_600)]
        respondents: usize,
        /// Also write the later year's weekly kiosk exports, `<year>/weeks/NN/devices/*.json`
        /// (each kiosk's cumulative export at the end of week NN, sequence NN), and every
        /// trust's true scores, `<year>/truth.json`.
        #[arg(long)]
        weekly: bool,
        /// Trusts (codes, comma-separated) whose respondents after `--from-week` answer worse.
        #[arg(long, value_name = "CODE", value_delimiter = ',', requires = "weekly")]
        degrade: Vec<String>,
        /// The last week before the degradation (1 to 52).
        #[arg(long, value_name = "W", requires = "degrade")]
        from_week: Option<u32>,
        /// How far the degraded trusts' true scores drop, in points on the 0-10 scale.
        #[arg(long, value_name = "POINTS", requires = "degrade", allow_negative_numbers = true)]
        by: Option<f64>,
    },
    /// Bundled instruments.
    Instrument {
        /// What to do with instruments.
        #[command(subcommand)]
        action: InstrumentAction,
    },
    /// Method profiles.
    Method {
        /// What to do with profiles.
        #[command(subcommand)]
        action: MethodAction,
    },
    /// Read device exports from a kiosk's serial line and file each, verified, as
    /// `DIR/<device>-<sequence>.json` (never replacing a file already there).
    Collect {
        /// A serial device set up with stty, a FIFO or a file (read to its end); `-` for
        /// standard input; or `tcp:HOST:PORT`, a TCP server to connect to (tried for 10 s).
        #[arg(long, value_name = "SOURCE")]
        from: PathBuf,
        /// The folder to file exports in (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Stop after this many seconds without a byte, counted from when the source is open
        /// (decimals allowed).
        #[arg(long, value_name = "SECONDS", value_parser = seconds)]
        idle_timeout: Option<Duration>,
        /// Stop once this many exports are filed (written, or found already collected).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_exports: Option<u64>,
        /// File only exports that verify against this keyring (repeat for several files); any
        /// other export line, unsigned ones included, is a bad line.
        #[arg(long, value_name = "FILE")]
        keyring: Vec<PathBuf>,
    },
    /// Device keys.
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Simulate, benchmark and report into ./surveybench-demo/ in a few seconds.
    Demo {
        /// Output folder.
        #[arg(long, default_value = "surveybench-demo")]
        out: PathBuf,
    },
}

/// A positive number of seconds, decimals allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|e| format!("not a number of seconds: {e}"))?;
    if secs <= 0.0 {
        return Err("must be more than 0 seconds".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// `surveybench instrument ...`
#[derive(Debug, Subcommand)]
pub enum InstrumentAction {
    /// Print a bundled instrument as JSON that `--instrument FILE` accepts back.
    Show {
        /// Instrument id.
        id: String,
    },
    /// List the bundled instruments.
    List,
}

/// `surveybench keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Make a kiosk's key pair: its provisioning image `DIR/<device>-<key id>.provision`
    /// (secret: it holds the private key) and its public key in the keyring.
    New {
        /// Device id (1-32 of `A-Z a-z 0-9 - _ . : /`).
        #[arg(long)]
        device: String,
        /// Site (trust code) the kiosk reports for.
        #[arg(long)]
        site: String,
        /// Survey period the kiosk reports for (e.g. 2024).
        #[arg(long)]
        period: String,
        /// Folder for the provisioning image (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Keyring file to add the public key to (default `DIR/keyring.toml`; created if
        /// missing).
        #[arg(long, value_name = "FILE")]
        keyring: Option<PathBuf>,
    },
}

/// `surveybench method ...`
#[derive(Debug, Subcommand)]
pub enum MethodAction {
    /// Print the built-in npsp-2024 profile as an editable TOML file.
    Show,
}
