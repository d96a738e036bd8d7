//! `modelci completions SHELL`: the shell's completion script, generated from the command-line
//! definitions (so it never falls behind the flags), on stdout.

use clap::CommandFactory;
use clap_complete::Shell as Generator;

use crate::cli::{Cli, CompletionsArgs, Shell};

pub fn run(args: &CompletionsArgs) -> u8 {
    crate::output::stdout(&script(args.shell));
    0
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let generator = match shell {
        Shell::Bash => Generator::Bash,
        Shell::Zsh => Generator::Zsh,
        Shell::Fish => Generator::Fish,
        Shell::Powershell => Generator::PowerShell,
    };
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(generator, &mut command, "modelci", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_knows_the_subcommands_and_global_flags() {
        for (shell, marker) in [
            (Shell::Bash, "complete -F _modelci"),
            (Shell::Zsh, "#compdef modelci"),
            (Shell::Fish, "complete -c modelci"),
            (Shell::Powershell, "Register-ArgumentCompleter"),
        ] {
            let text = script(shell);
            assert!(text.contains(marker), "{shell:?}: no `{marker}`");
            for word in ["check", "doctor", "completions", "color", "quiet"] {
                assert!(text.contains(word), "{shell:?}: no `{word}`");
            }
        }
    }
}
