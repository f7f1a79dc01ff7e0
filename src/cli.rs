//! The command line: clap definitions, logging set-up and dispatch to the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// runboard: experiment tracking with TensorBoard-compatible files, at full fidelity.
#[derive(Debug, Parser)]
#[command(name = "runboard", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarise the event files of a logdir (or one file): runs, tags, kinds, step ranges,
    /// and damaged records skipped. Like `tensorboard --inspect`, without the sampling.
    Inspect {
        /// A logdir (searched at any depth for files whose name contains `tfevents`) or one event file.
        path: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the arguments, sets up logging (`RUST_LOG`, default `info`) and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("runboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect { path, json } => {
            let report = crate::inspect::inspect(&path)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report.to_json())?;
                use std::io::Write;
                writeln!(out)?;
            } else {
                report.print_table(&mut out)?;
            }
            Ok(())
        }
    }
}
