//! The `switchboard` binary: parses the command line and hands it to [`switchboard::commands::dispatch`].

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: the service allocates per request and per run on many
/// threads, and glibc's arenas spent ~12% of `e2e`'s CPU in `malloc`/`free`/`malloc_consolidate`
/// (BENCHMARKS.md). Built without transparent huge pages (the workspace's `no_thp`): with them,
/// the first touch of fresh memory zeroed 2 MiB at a time, which cost a cron storm a fifth of its
/// CPU and 25-40 MiB of RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = switchboard::cli::Cli::parse();
    switchboard::init_tracing(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(switchboard::commands::dispatch(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
