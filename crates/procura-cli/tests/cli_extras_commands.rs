//! `procura completions`, `procura man` and `procura schema`: generated
//! from the command line's definition and the format types, so they list
//! what exists.

use std::process::{Command, Output};

use serde_json::Value;

fn procura(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_procura"))
        .args(args)
        .output()
        .expect("procura runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn completions_cover_every_subcommand_and_the_new_clear_flags() {
    for (shell, marker, explain) in [
        ("bash", "_procura()", "--explain"),
        ("zsh", "#compdef procura", "--explain"),
        ("fish", "complete -c procura", "-l explain"),
    ] {
        let script = stdout(&procura(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: {marker}");
        for word in [
            "clear",
            "audit",
            "schema",
            "completions",
            explain,
            "qmia",
            "table",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let output = procura(&["completions", "powershell"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'powershell'"));
}

#[test]
fn the_man_page_documents_every_subcommand() {
    let page = stdout(&procura(&["man"]));
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq \\(aq"),
        "{}",
        &page[..80]
    );
    assert!(page.contains(".TH procura 1"));
    for section in [
        "PROCURA CLEAR",
        "PROCURA AUDIT",
        "PROCURA SCHEMA",
        "PROCURA COMPLETIONS",
    ] {
        assert!(page.contains(&format!(".SH \"{section}\"")), "{section}");
    }
    assert!(page.contains("\\-\\-explain"));
    assert!(page.contains(".SS OPTIONS"));
}

#[test]
fn schemas_are_json_schemas_of_both_formats() {
    let instance: Value =
        serde_json::from_str(&stdout(&procura(&["schema", "instance"]))).expect("JSON");
    assert_eq!(
        instance["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(instance["title"], "procura instance");
    let variants = instance["anyOf"].as_array().expect("anyOf");
    assert_eq!(variants.len(), 2);
    let outcome: Value =
        serde_json::from_str(&stdout(&procura(&["schema", "outcome"]))).expect("JSON");
    assert_eq!(outcome["title"], "procura outcome");
    assert_eq!(outcome["anyOf"].as_array().expect("anyOf").len(), 3);
    // The CLI prints the library's schema, byte for byte.
    assert_eq!(
        stdout(&procura(&["schema", "instance"])),
        procura_format::schema::instance()
    );
    let output = procura(&["schema", "market"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
