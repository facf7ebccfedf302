use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = meshtap::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("meshtap: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(meshtap::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("meshtap: {err:#}");
            ExitCode::FAILURE
        }
    }
}
