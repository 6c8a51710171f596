//! The `schemabot` binary: the process around [`schemabot_cli::run`].

use schemabot_cli::{Console, Exit};
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("schemabot: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(Exit::Internal.code());
        }
    };
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut console = Console {
        stdout_is_terminal: stdout.is_terminal(),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        out: &mut stdout,
        err: &mut stderr,
    };
    let exit = runtime.block_on(schemabot_cli::run(std::env::args_os(), &mut console));
    std::process::ExitCode::from(exit.code())
}
