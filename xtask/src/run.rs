//! Running cargo and other tools from the workspace root, failing loudly.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map_or(here.clone(), PathBuf::from)
}

/// Runs `program args...` in the workspace root with extra `env`, echoing it first.
pub fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` failed ({status})", args.join(" "))) }
}

/// Runs cargo with `args`, warnings denied.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(&cargo, args, &[("RUSTFLAGS", "-D warnings")])
}

/// Starts cargo with `args` and extra `env`, warnings denied, in the workspace root.
pub fn cargo_env(args: &[&str], env: &[(&str, &str)]) -> Result<std::process::Child, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("xtask: $ cargo {}", args.join(" "));
    Command::new(&cargo)
        .args(args)
        .env("RUSTFLAGS", "-D warnings")
        .envs(env.iter().copied())
        .current_dir(root())
        .spawn()
        .map_err(|e| format!("cannot start {cargo}: {e}"))
}
