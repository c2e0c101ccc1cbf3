//! Every `procura …` command that README.md and docs/*.md show in a fenced
//! code block runs as written, with the binary this crate builds.
//!
//! The commands are read from the shell blocks of each document (fences
//! tagged `sh`, `bash`, `shell`, `console`, `zsh`, or untagged; a block
//! with `$ ` prompts is a console transcript, where only the prompted
//! lines are commands). Continuation lines (`\`) are joined, here-documents
//! are kept with their command, and comments are dropped. A command line
//! *invokes procura* when one of its commands (the line split at `|`,
//! `&&`, `||`, `;`, `&` and `$(`, past variable assignments and `time`,
//! `env` or `nice`) is:
//!
//! - `procura …`, the one form the documents use: the line is run with
//!   `sh -c` in a temporary folder holding copies of the repository's
//!   `examples/`, `data/` and `experiments/`, with this build's `procura`
//!   first on `PATH`; the lines of one document run in order in one folder,
//!   so a later command can read what an earlier one wrote;
//! - another form (`cargo run … --`, `target/release/procura`, `$P`, …):
//!   not run, and it fails the test unless [`SPECIAL`] skips it.
//!
//! [`SPECIAL`] is the checked list of commands that are not run as written:
//! each entry says why. An entry that matches no command fails the test too,
//! so the list cannot go stale.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a documented command is treated instead of being run as written.
#[derive(Debug, Clone, Copy)]
enum Treatment {
    /// Not run, for the reason given.
    Skip(&'static str),
    /// Run with `from` replaced by `to` (the first occurrence), for the
    /// reason given: the same command, made small enough for a debug build.
    Shorten {
        from: &'static str,
        to: &'static str,
        why: &'static str,
    },
}

/// A command of the documents that is not run exactly as written: the
/// entry applies to every command line with an invocation that starts with
/// `invocation` (from the program name on, single spaces).
#[derive(Debug, Clone, Copy)]
struct Special {
    invocation: &'static str,
    treatment: Treatment,
}

const fn skip(invocation: &'static str, why: &'static str) -> Special {
    Special {
        invocation,
        treatment: Treatment::Skip(why),
    }
}

const fn shorten(
    invocation: &'static str,
    from: &'static str,
    to: &'static str,
    why: &'static str,
) -> Special {
    Special {
        invocation,
        treatment: Treatment::Shorten { from, to, why },
    }
}

/// The commands that are not run as written, each with its reason.
const SPECIAL: &[Special] = &[
    // The two commands that open the README must work on a machine with
    // nothing but the Rust toolchain, before `procura` is installed.
    skip(
        "cargo run --release -- demo",
        "builds the release binary (minutes); `procura demo` in the install section runs the same round",
    ),
    // Long-running or networked commands.
    skip(
        "procura serve",
        "starts a server that runs until it is killed; tests/market_e2e.rs runs real servers",
    ),
    skip(
        "procura market open",
        "needs the server of `procura serve`; tests/market_e2e.rs plays whole rounds",
    ),
    skip(
        "procura market commit",
        "needs the server of `procura serve`; tests/market_e2e.rs plays whole rounds",
    ),
    skip(
        "procura market close",
        "needs the server of `procura serve`; tests/market_e2e.rs plays whole rounds",
    ),
    skip(
        "procura market reveal",
        "needs the server of `procura serve`; tests/market_e2e.rs plays whole rounds",
    ),
    skip(
        "procura market transcript",
        "needs the server of `procura serve`; tests/market_e2e.rs plays whole rounds",
    ),
    skip(
        "procura verify r1.json",
        "verifies the transcript of the server round above; tests/verify_cli.rs verifies real transcripts",
    ),
    skip(
        "procura reproduce --out",
        "the full reproduction takes minutes in a debug build (34 s in release)",
    ),
    skip(
        "procura reproduce --quick",
        "about 20 s in a debug build; tests/reproduce_cli.rs runs it and checks every claim",
    ),
    skip(
        "procura experiment sweep.toml",
        "a recorded run of docs/DISTRIBUTED.md: its sweep.toml is written under /tmp/launch, and it takes minutes in a debug build",
    ),
    // Shortened: the same flags, on less work.
    shorten(
        "procura value --method banzhaf-msr",
        "--samples 2000",
        "--samples 40",
        "2,000 logistic-regression samples take over a minute in a debug build",
    ),
    shorten(
        "procura audit --population examples/populations/heavy-tails.toml",
        "--instances 1000",
        "--instances 20",
        "1,000 audited instances take about a minute in a debug build",
    ),
];

/// Where a command came from: a document and a line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    file: String,
    line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One command line of a shell block: continuation lines joined, the prompt
/// and comments removed, a here-document kept after a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CommandLine {
    place: Place,
    text: String,
}

/// A program invocation found in a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invocation {
    /// `procura …`: from `procura` to the end of that command.
    Procura(String),
    /// Another way of running procura (`cargo run … --`, a path to the
    /// binary, a variable holding it).
    OtherForm(String),
}

impl Invocation {
    fn text(&self) -> &str {
        match self {
            Invocation::Procura(text) | Invocation::OtherForm(text) => text,
        }
    }
}

/// The shell languages whose fenced blocks hold commands.
fn is_shell_block(info: &str) -> bool {
    let language = info.split_whitespace().next().unwrap_or("");
    matches!(language, "" | "sh" | "bash" | "shell" | "console" | "zsh")
}

/// The fence that opens a code block on `line`, if it does: the fence
/// characters and the info string.
fn opening_fence(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    for mark in ['`', '~'] {
        let count = trimmed.chars().take_while(|&c| c == mark).count();
        if count >= 3 {
            let fence: String = std::iter::repeat_n(mark, count).collect();
            return Some((fence, trimmed[count..].trim().to_owned()));
        }
    }
    None
}

/// Whether `line` closes a block opened by `fence`.
fn closes(line: &str, fence: &str) -> bool {
    let trimmed = line.trim();
    let mark = fence.chars().next().unwrap_or('`');
    trimmed.len() >= fence.len() && trimmed.chars().all(|c| c == mark)
}

/// A line of a document: its 1-based number and its text.
type Line = (usize, String);

/// A fenced block being read.
struct OpenBlock {
    /// The fence that closes it.
    fence: String,
    /// Whether its language is a shell's.
    shell: bool,
    lines: Vec<Line>,
}

/// The shell blocks of a Markdown text: each block's lines with their
/// 1-based line numbers.
fn shell_blocks(markdown: &str) -> Vec<Vec<Line>> {
    let mut blocks = Vec::new();
    let mut open: Option<OpenBlock> = None;
    for (index, line) in markdown.lines().enumerate() {
        match open.take() {
            None => {
                if let Some((fence, info)) = opening_fence(line) {
                    open = Some(OpenBlock {
                        fence,
                        shell: is_shell_block(&info),
                        lines: Vec::new(),
                    });
                }
            }
            Some(mut block) => {
                if closes(line, &block.fence) {
                    if block.shell {
                        blocks.push(block.lines);
                    }
                } else {
                    block.lines.push((index + 1, line.to_owned()));
                    open = Some(block);
                }
            }
        }
    }
    blocks
}

/// `text` without its comment: from the first `#` outside quotes that
/// starts a word.
fn strip_comment(text: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (at, c) in text.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &text[..at],
            _ => {}
        }
        previous = c;
    }
    text
}

/// The delimiter of a here-document that `text` opens (`<<EOF`,
/// `<<'EOF'`, `<<-EOF`), if it opens one.
fn heredoc_delimiter(text: &str) -> Option<String> {
    let start = text.find("<<")?;
    let rest = text[start + 2..].trim_start_matches('-').trim_start();
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .filter(|&c| c != '\'' && c != '"')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The command lines of one shell block of `file`.
fn block_commands(file: &str, lines: &[Line]) -> Vec<CommandLine> {
    let console = lines.iter().any(|(_, line)| line.starts_with("$ "));
    let mut commands = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let (number, first) = &lines[at];
        at += 1;
        let first = if console {
            match first.strip_prefix("$ ") {
                Some(command) => command,
                None => continue,
            }
        } else {
            first.as_str()
        };
        let mut text = String::new();
        let mut piece = first.to_owned();
        loop {
            let code = strip_comment(&piece).trim_end();
            match code.strip_suffix('\\') {
                Some(continued) if at < lines.len() => {
                    text.push_str(continued.trim_end());
                    text.push(' ');
                    piece = lines[at].1.trim_start().to_owned();
                    at += 1;
                }
                _ => {
                    text.push_str(code);
                    break;
                }
            }
        }
        let text = text.trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let mut text = text;
        if let Some(delimiter) = heredoc_delimiter(&text) {
            while at < lines.len() {
                let line = &lines[at].1;
                at += 1;
                text.push('\n');
                text.push_str(line);
                if line.trim() == delimiter {
                    break;
                }
            }
        }
        commands.push(CommandLine {
            place: Place {
                file: file.to_owned(),
                line: *number,
            },
            text,
        });
    }
    commands
}

/// Every command line of the shell blocks of `markdown` (the text of
/// `file`).
fn commands_of(file: &str, markdown: &str) -> Vec<CommandLine> {
    shell_blocks(markdown)
        .iter()
        .flat_map(|block| block_commands(file, block))
        .collect()
}

/// The commands of a command line (its first line: a here-document's body
/// is data), split at the shell's separators outside quotes.
fn segments(text: &str) -> Vec<String> {
    let line = text.lines().next().unwrap_or("");
    let mut segments = Vec::new();
    let mut current = String::new();
    let (mut single, mut double) = (false, false);
    let chars: Vec<char> = line.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        let separator = !single
            && !double
            && (matches!(c, '|' | ';' | '&' | '(' | ')' | '`') || (c == '$' && next == Some('(')));
        if separator {
            segments.push(std::mem::take(&mut current));
        } else {
            match c {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                _ => {}
            }
            current.push(c);
        }
        at += 1;
    }
    segments.push(current);
    segments
        .into_iter()
        .map(|segment| segment.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// Whether `word` assigns a shell variable (`NAME=value`).
fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The invocation of procura in one command, if it is one.
fn invocation_of(segment: &str) -> Option<Invocation> {
    let words: Vec<&str> = segment.split(' ').collect();
    let mut at = 0;
    // Wrappers and assignments before the program.
    while at < words.len() {
        match words[at] {
            word if is_assignment(word) => at += 1,
            "time" | "/usr/bin/time" | "env" | "exec" | "command" => at += 1,
            "nice" => {
                at += if words.get(at + 1) == Some(&"-n") {
                    3
                } else {
                    1
                }
            }
            _ => break,
        }
    }
    let program = *words.get(at)?;
    let rest = words[at..].join(" ");
    let unquoted = program.trim_matches('"');
    if program == "procura" {
        Some(Invocation::Procura(rest))
    } else if unquoted.ends_with("/procura")
        || unquoted == "$P"
        || (unquoted.starts_with('$') && unquoted.to_ascii_lowercase().contains("procura"))
        || (program == "cargo" && words.get(at + 1) == Some(&"run") && words.contains(&"--"))
    {
        Some(Invocation::OtherForm(rest))
    } else {
        None
    }
}

/// The invocations of procura in a command line, in order.
fn invocations(text: &str) -> Vec<Invocation> {
    segments(text)
        .iter()
        .filter_map(|segment| invocation_of(segment))
        .collect()
}

/// The entry of [`SPECIAL`] that applies to `invocation`, if any.
fn special_for(invocation: &Invocation) -> Option<&'static Special> {
    SPECIAL
        .iter()
        .find(|special| invocation.text().starts_with(special.invocation))
}

/// What to do with one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Run this shell text.
    Run(String),
    /// Do not run it: an entry of [`SPECIAL`] says why.
    Skipped,
    /// The line invokes procura in a form that is neither `procura …` nor
    /// skipped.
    Unknown(String),
}

/// The plan for a command line, and the [`SPECIAL`] entries it used.
fn plan(command: &CommandLine) -> Option<(Plan, Vec<&'static str>)> {
    let found = invocations(&command.text);
    if found.is_empty() {
        return None;
    }
    let mut used = Vec::new();
    let mut text = command.text.clone();
    for invocation in &found {
        match (special_for(invocation), invocation) {
            (Some(special), _) => {
                used.push(special.invocation);
                match special.treatment {
                    Treatment::Skip(_) => return Some((Plan::Skipped, used)),
                    Treatment::Shorten { from, to, .. } => {
                        if !text.contains(from) {
                            return Some((
                                Plan::Unknown(format!(
                                    "the list shortens `{}` by replacing `{from}`, which the command no longer contains",
                                    special.invocation
                                )),
                                used,
                            ));
                        }
                        text = text.replacen(from, to, 1);
                    }
                }
            }
            (None, Invocation::OtherForm(form)) => {
                return Some((
                    Plan::Unknown(format!(
                        "`{form}` runs procura in another form than `procura …`: \
                         write it as `procura …`, or add it to SPECIAL with the reason"
                    )),
                    used,
                ))
            }
            (None, Invocation::Procura(_)) => {}
        }
    }
    Some((Plan::Run(text), used))
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The documents whose commands are checked: README.md and docs/*.md, as
/// paths relative to the repository.
fn documents() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(repository().join("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("docs/ entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_owned());
    names
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create a folder");
    for entry in fs::read_dir(from).expect("read a folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// A fresh folder with the repository's example files, and a `bin/` that
/// holds this build's `procura`.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for folder in ["examples", "data", "experiments"] {
        copy_tree(&repository().join(folder), &dir.path().join(folder));
    }
    let bin = dir.path().join(".bin");
    fs::create_dir_all(&bin).expect("create .bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_procura"), bin.join("procura"))
        .expect("link procura");
    (dir, bin)
}

/// The longest a documented command may run.
const TIME_LIMIT: Duration = Duration::from_secs(180);

/// Runs `text` with `sh -c` in `dir`; on failure, a message that names the
/// place, the command and what it printed.
fn run(place: &Place, text: &str, dir: &Path, bin: &Path) -> Result<(), String> {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(text)
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{place}: cannot start sh: {error}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sh") {
            break Some(status);
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let tail = |text: &str| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    match status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!(
            "{place}: `{text}` failed ({status})\n--- stderr:\n{}\n--- stdout:\n{}",
            tail(&stderr),
            tail(&stdout)
        )),
        None => Err(format!(
            "{place}: `{text}` ran longer than {TIME_LIMIT:?}: shorten it in SPECIAL, or skip it with the reason"
        )),
    }
}

#[test]
fn every_documented_procura_command_runs() {
    let mut failures = Vec::new();
    let mut used: Vec<&str> = Vec::new();
    let mut ran = 0;
    for file in documents() {
        let markdown = fs::read_to_string(repository().join(&file)).expect("read a document");
        let commands = commands_of(&file, &markdown);
        let mut folder = None;
        for command in &commands {
            let Some((plan, entries)) = plan(command) else {
                continue;
            };
            used.extend(entries);
            match plan {
                Plan::Skipped => {}
                Plan::Unknown(why) => failures.push(format!("{}: {why}", command.place)),
                Plan::Run(text) => {
                    let (dir, bin) = folder.get_or_insert_with(workspace);
                    ran += 1;
                    if let Err(failure) = run(&command.place, &text, dir.path(), bin) {
                        failures.push(failure);
                    }
                }
            }
        }
    }
    for special in SPECIAL {
        if !used.contains(&special.invocation) {
            failures.push(format!(
                "SPECIAL lists `{}`, which no document shows any more: remove the entry",
                special.invocation
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the documented commands failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran > 10, "only {ran} documented commands ran");
    eprintln!(
        "{ran} documented commands ran; SPECIAL lists {} that do not run as written",
        SPECIAL.len()
    );
}

#[test]
fn a_failure_names_the_document_line_and_command() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let place = Place {
        file: "docs/X.md".to_owned(),
        line: 7,
    };
    let failure = run(&place, "echo oops >&2; exit 3", dir.path(), dir.path())
        .expect_err("the command fails");
    assert!(
        failure.starts_with("docs/X.md:7: `echo oops >&2; exit 3` failed"),
        "{failure}"
    );
    assert!(failure.contains("--- stderr:\noops"), "{failure}");
    assert_eq!(run(&place, "true", dir.path(), dir.path()), Ok(()));
}

#[test]
fn every_special_entry_says_why() {
    for special in SPECIAL {
        let why = match special.treatment {
            Treatment::Skip(why) | Treatment::Shorten { why, .. } => why,
        };
        assert!(
            why.len() > 20,
            "`{}` needs a reason in SPECIAL",
            special.invocation
        );
    }
}

/// The extractor: a Markdown text and the command lines it should find,
/// each as (line, text).
fn check(markdown: &str, expected: &[(usize, &str)]) {
    let found: Vec<(usize, String)> = commands_of("doc.md", markdown)
        .into_iter()
        .map(|command| (command.place.line, command.text))
        .collect();
    let expected: Vec<(usize, String)> = expected
        .iter()
        .map(|&(line, text)| (line, text.to_owned()))
        .collect();
    assert_eq!(found, expected, "in:\n{markdown}");
}

#[test]
fn commands_are_read_from_shell_blocks_only() {
    check("procura clear x\n", &[]);
    check("```sh\nprocura clear x\n```\n", &[(2, "procura clear x")]);
    check("```\nprocura clear x\n```\n", &[(2, "procura clear x")]);
    check(
        "```bash title\nprocura a\n\nprocura b\n```\n",
        &[(2, "procura a"), (4, "procura b")],
    );
    check("```text\nprocura clear x\n```\n", &[]);
    check("```toml\n# procura clear x\n```\n", &[]);
    check(
        "````sh\n```\nprocura a\n````\n",
        &[(2, "```"), (3, "procura a")],
    );
    check("  ```sh\n  procura a\n  ```\n", &[(2, "procura a")]);
}

#[test]
fn continuations_comments_prompts_and_heredocs() {
    check(
        "```sh\nprocura value --a 1 \\\n    --b 2   # the values\n# a comment\n```\n",
        &[(2, "procura value --a 1 --b 2")],
    );
    check(
        "```sh\n$ procura audit x\n{\n  \"gain\": 1\n}\n```\n",
        &[(2, "procura audit x")],
    );
    check(
        "```sh\ncat > a.json <<EOF\n{\"#\": 1}\nEOF\nprocura clear a.json\n```\n",
        &[
            (2, "cat > a.json <<EOF\n{\"#\": 1}\nEOF"),
            (5, "procura clear a.json"),
        ],
    );
    check(
        "```sh\necho '# not a comment' # one\n```\n",
        &[(2, "echo '# not a comment'")],
    );
}

#[test]
fn invocations_are_told_apart() {
    let procura = |text: &str| Invocation::Procura(text.to_owned());
    let other = |text: &str| Invocation::OtherForm(text.to_owned());
    let cases: &[(&str, &[Invocation])] = &[
        (
            "procura clear x --mechanism qmia",
            &[procura("procura clear x --mechanism qmia")],
        ),
        (
            "ACME=$(procura market keygen --out a.key)",
            &[procura("procura market keygen --out a.key")],
        ),
        ("procura serve --db x &", &[procura("procura serve --db x")]),
        (
            "procura demo && procura clear x | head",
            &[procura("procura demo"), procura("procura clear x")],
        ),
        ("/usr/bin/time procura demo", &[procura("procura demo")]),
        ("RUST_LOG=info procura serve", &[procura("procura serve")]),
        (
            "cargo run --release -- demo",
            &[other("cargo run --release -- demo")],
        ),
        (
            "target/release/procura reproduce --quick",
            &[other("target/release/procura reproduce --quick")],
        ),
        ("$P market keygen", &[other("$P market keygen")]),
        (
            "\"$PROCURA\" experiment x",
            &[other("\"$PROCURA\" experiment x")],
        ),
        ("cargo install --locked --path crates/procura-cli", &[]),
        ("cargo test -p procura-cli --test doc_commands", &[]),
        ("pip install ./crates/procura-py", &[]),
        ("echo 'procura clear x'", &[]),
        (
            "python launchers/ray/ray_shards.py x --procura /bin/procura",
            &[],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&invocations(text), expected, "{text}");
    }
}

#[test]
fn plans_follow_the_list() {
    let line = |text: &str| CommandLine {
        place: Place {
            file: "doc.md".to_owned(),
            line: 1,
        },
        text: text.to_owned(),
    };
    let plan_of = |text: &str| plan(&line(text)).map(|(plan, _)| plan);
    assert_eq!(plan_of("cargo test"), None);
    assert_eq!(
        plan_of("procura clear x"),
        Some(Plan::Run("procura clear x".to_owned()))
    );
    assert_eq!(plan_of("procura serve --db x &"), Some(Plan::Skipped));
    assert_eq!(
        plan_of("procura audit --population examples/populations/heavy-tails.toml --instances 1000 --seed 1"),
        Some(Plan::Run(
            "procura audit --population examples/populations/heavy-tails.toml --instances 20 --seed 1"
                .to_owned()
        ))
    );
    assert!(matches!(
        plan_of("target/release/procura clear x"),
        Some(Plan::Unknown(_))
    ));
    assert!(matches!(
        plan_of("procura audit --population examples/populations/heavy-tails.toml --seed 1"),
        Some(Plan::Unknown(_))
    ));
}
