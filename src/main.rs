use std::process::ExitCode;

/// glibc's per-thread arenas let a long session's resident memory creep up after the store is
/// full (measured: 152 → 209 MiB over a 60 s soak at 20k req/s); mimalloc returns freed pages and
/// keeps it flat.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // As `linkerd-meshtap` it speaks Linkerd's extension protocol; as `kubectl-meshtap`, itself.
    let cli = match meshtap::invocation(std::env::args_os().collect()) {
        meshtap::Invocation::Meshtap(cli) => *cli,
        meshtap::Invocation::Manifest(text) => {
            // A reader that went away (`| head`) is a normal end.
            return match meshtap::print_stdout(text) {
                Ok(_) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("meshtap: writing to stdout: {err}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("meshtap: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(meshtap::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            // A message can quote an API server or a capture: the one escaping rule applies.
            eprintln!(
                "meshtap: {}",
                meshtap::terminal::escape(&format!("{err:#}"))
            );
            ExitCode::FAILURE
        }
    };
    // A blocking read still waiting (stdin of `replay -`) must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}
