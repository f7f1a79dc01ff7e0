//! The `runboard` binary: parses the command line and runs it (all logic lives in the library).

fn main() -> std::process::ExitCode {
    runboard::cli::main()
}
