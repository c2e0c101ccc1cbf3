//! `procura completions SHELL` and `procura man`: shell completions and a
//! man page, both generated from the command line's own clap definition,
//! so they list exactly the subcommands and flags that exist.

use clap_complete::Shell;

/// Print a shell completion script to stdout.
///
/// Install it where the shell looks for completions, e.g. for bash
/// `procura completions bash > ~/.local/share/bash-completion/completions/procura`,
/// for zsh a file `_procura` in a directory of `$fpath`, for fish
/// `~/.config/fish/completions/procura.fish`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to complete for.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    shell: String,
}

/// Print the man page of `procura` (roff) to stdout.
///
/// Read it with `procura man | man -l -`, or install it as
/// `procura man > /usr/local/share/man/man1/procura.1`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {}

/// The completion script of `command` for the chosen shell.
pub(crate) fn run(args: &Args, mut command: clap::Command) -> anyhow::Result<String> {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    Ok(String::from_utf8(script)?)
}

/// The man page of `command`: the page of `procura` itself, then a
/// section per subcommand with its synopsis, description and options
/// (their own sections demoted to subsections).
pub(crate) fn man(_args: &ManArgs, command: clap::Command) -> anyhow::Result<String> {
    let command = command.disable_help_subcommand(true);
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    let mut page = String::from_utf8(page)?;
    for sub in command.get_subcommands() {
        let name = format!("procura {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        let mut section = Vec::new();
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        page.push_str(&format!(".SH \"{}\"\n", name.to_uppercase()));
        for line in String::from_utf8(section)?.lines() {
            match line.strip_prefix(".SH ") {
                Some(title) => page.push_str(&format!(".SS {title}\n")),
                None => {
                    page.push_str(line);
                    page.push('\n');
                }
            }
        }
    }
    Ok(page)
}
