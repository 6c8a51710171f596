//! Where output goes and how it looks: stdout for results, stderr for notes and errors; colours
//! only on a terminal without `NO_COLOR` (or when forced); `--json` prints one document.

use crate::args::ColorChoice;
use crate::error::CliError;
use crate::exit::Exit;
use schemabot_render::TerminalColors;
use serde::Serialize;
use std::io::Write;

/// The process's streams as the commands see them (tests pass buffers).
pub struct Console<'a> {
    pub out: &'a mut (dyn Write + Send),
    pub err: &'a mut (dyn Write + Send),
    /// Whether stdout is an interactive terminal (in-place refresh, automatic colours).
    pub stdout_is_terminal: bool,
    /// Whether `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub no_color: bool,
}

impl Console<'_> {
    pub fn colors(&self, choice: ColorChoice) -> TerminalColors {
        match choice {
            ColorChoice::Always => TerminalColors::On,
            ColorChoice::Auto if self.stdout_is_terminal && !self.no_color => TerminalColors::On,
            ColorChoice::Auto | ColorChoice::Never => TerminalColors::Off,
        }
    }

    pub fn print(&mut self, text: &str) -> Result<(), CliError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(output_error)
    }

    /// A progress note for a person (never part of a JSON document).
    pub fn note(&mut self, text: &str) {
        // A note that cannot be written is not worth failing the command for.
        let _ = writeln!(self.err, "{text}").and_then(|()| self.err.flush());
    }

    pub fn print_json<T: Serialize>(&mut self, document: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(document)
            .map_err(|e| CliError::Internal(format!("cannot encode the JSON output: {e}")))?;
        self.print(&format!("{text}\n"))
    }

    /// Reports `error`: a message on stderr, and with `--json` also the error document on stdout.
    pub fn report_error(&mut self, error: &CliError, json: bool) -> Exit {
        let exit = error.exit();
        self.note(&format!("schemabot: {error}"));
        if json {
            let document = ErrorDocument {
                error: ErrorBody {
                    kind: error.kind(),
                    message: error.to_string(),
                },
                exit_code: exit.code(),
            };
            let _ = self.print_json(&document);
        }
        exit
    }
}

fn output_error(error: std::io::Error) -> CliError {
    CliError::Internal(format!("cannot write the output: {error}"))
}

#[derive(Serialize)]
struct ErrorDocument {
    error: ErrorBody,
    exit_code: u8,
}

#[derive(Serialize)]
struct ErrorBody {
    kind: &'static str,
    message: String,
}
