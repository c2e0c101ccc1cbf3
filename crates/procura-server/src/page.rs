//! The server-rendered HTML pages: `GET /` lists the rounds (phase, roster
//! size, commitments), `GET /rounds/{round}` shows one round: its status,
//! the outcome once cleared, the settlement once settled, and the result
//! of verifying its current transcript with
//! [`procura_market::transcript::verify`]. Everything shown is
//! HTML-escaped, and nothing sealed is shown: reveals and decisions
//! appear only once the rules make them public.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use procura_market::transcript;
use serde_json::Value;

use crate::api::AppState;
use crate::state::Slot;

/// Escapes text for HTML element content and attribute values.
#[must_use]
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:0.2em 0.5em;text-align:left;vertical-align:top}}\
         .ok{{color:#060}}.bad{{color:#a00}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    ))
}

/// The list of rounds.
#[utoipa::path(
    get,
    path = "/",
    tag = "pages",
    responses((status = 200, description = "An HTML page listing the rounds", content_type = "text/html", body = String))
)]
pub(crate) async fn index(State(state): State<AppState>) -> Html<String> {
    let core = &state.core;
    let mut body = format!(
        "<h1>{}</h1>\n<p>Operator key <code>{}</code>. JSON API: <a href=\"/openapi.json\">/openapi.json</a>.</p>\n",
        escape(&core.name),
        core.key_id
    );
    let slots = core.slots();
    if slots.is_empty() {
        body.push_str("<p>No rounds yet.</p>\n");
    } else {
        body.push_str(
            "<table>\n<tr><th>round</th><th>mechanism</th><th>phase</th><th>roster</th>\
             <th>commitments</th><th>entries</th></tr>\n",
        );
        for (id, slot) in slots {
            let link = format!("<a href=\"/rounds/{0}\">{0}</a>", escape(&id));
            let _ = match slot {
                Slot::Live(log) => {
                    let log = log.read().await;
                    let round = log.round();
                    writeln!(
                        body,
                        "<tr><td>{link}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(round.mechanism().name()),
                        escape(round.phase().name()),
                        round.roster_len(),
                        round.committed().len(),
                        round.size()
                    )
                }
                Slot::Broken(_) => writeln!(
                    body,
                    "<tr><td>{link}</td><td colspan=\"5\" class=\"bad\">not served: its stored \
                     log failed the integrity check</td></tr>"
                ),
            };
        }
        body.push_str("</table>\n");
    }
    page(&core.name, &body)
}

/// Renders a JSON value: objects as two-column tables, arrays of objects
/// as tables with a column per key.
fn render(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut out = String::from("<table>\n");
            for (key, value) in map {
                let _ = writeln!(
                    out,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(key),
                    render(value)
                );
            }
            out.push_str("</table>");
            out
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let mut keys: Vec<&String> = Vec::new();
            for item in items.iter().filter_map(Value::as_object) {
                for key in item.keys() {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            let mut out = String::from("<table>\n<tr>");
            for key in &keys {
                let _ = write!(out, "<th>{}</th>", escape(key));
            }
            out.push_str("</tr>\n");
            for item in items.iter().filter_map(Value::as_object) {
                out.push_str("<tr>");
                for key in &keys {
                    let cell = item.get(key.as_str()).map(render).unwrap_or_default();
                    let _ = write!(out, "<td>{cell}</td>");
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>");
            out
        }
        Value::Array(items) => items.iter().map(render).collect::<Vec<_>>().join(", "),
        Value::String(text) => escape(text),
        other => escape(&other.to_string()),
    }
}

fn ids(ids: &[&str]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        escape(&ids.join(", "))
    }
}

/// One round.
#[utoipa::path(
    get,
    path = "/rounds/{round}",
    tag = "pages",
    params(("round" = String, Path, description = "The round id")),
    responses(
        (status = 200, description = "An HTML page: status, outcome, settlement and the transcript's verification", content_type = "text/html", body = String),
        (status = 404, description = "No such round", content_type = "text/html", body = String),
        (status = 500, description = "The round's stored log failed the integrity check", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn round(State(state): State<AppState>, Path(round): Path<String>) -> Response {
    let core = &state.core;
    let log = match core.round(&round).await {
        Ok(log) => log,
        Err(error) => {
            let body = format!(
                "<h1>{}</h1>\n<p class=\"bad\">{}</p>\n<p><a href=\"/\">All rounds</a></p>\n",
                escape(&round),
                escape(&error.message)
            );
            return (error.status, page(&round, &body)).into_response();
        }
    };
    let (mut body, transcript) = {
        let log = log.read().await;
        let r = log.round();
        let mut body = format!(
            "<p><a href=\"/\">All rounds</a></p>\n<h1>Round {}</h1>\n<table>\n\
             <tr><th>mechanism</th><td>{}</td></tr>\n<tr><th>phase</th><td>{}</td></tr>\n\
             <tr><th>entries</th><td>{}</td></tr>\n<tr><th>roster</th><td>{}</td></tr>\n\
             <tr><th>committed</th><td>{}</td></tr>\n<tr><th>revealed</th><td>{}</td></tr>\n\
             <tr><th>decided</th><td>{}</td></tr>\n<tr><th>buyer</th><td><code>{}</code></td></tr>\n\
             </table>\n",
            escape(r.id().as_str()),
            escape(r.mechanism().name()),
            escape(r.phase().name()),
            r.size(),
            r.roster_len(),
            ids(&r.committed()),
            ids(&r.revealed()),
            ids(&r.decided()),
            r.buyer()
        );
        if let Some(text) = r.outcome_text() {
            body.push_str("<h2>Outcome</h2>\n");
            match serde_json::from_str::<Value>(text) {
                Ok(value) => body.push_str(&render(&value)),
                Err(_) => {
                    let _ = write!(body, "<pre>{}</pre>", escape(text));
                }
            }
            body.push('\n');
        }
        if let Some(settle) = r.settlement_entry() {
            body.push_str("<h2>Settlement</h2>\n");
            if let Ok(value) = serde_json::to_value(settle) {
                body.push_str(&render(&value));
            }
            body.push('\n');
        }
        (body, log.transcript(&core.name, &core.key))
    };
    let verdict =
        tokio::task::spawn_blocking(move || transcript::verify(&transcript).map(|v| v.summary()))
            .await;
    body.push_str("<h2>Transcript</h2>\n");
    let _ = match verdict {
        Ok(Ok(summary)) => writeln!(
            body,
            "<p class=\"ok\">The current transcript verifies.</p>\n<pre>{}</pre>",
            escape(&summary)
        ),
        Ok(Err(failure)) => writeln!(
            body,
            "<p class=\"bad\">The current transcript does not verify: {}</p>",
            escape(&failure.to_string())
        ),
        Err(_) => writeln!(
            body,
            "<p class=\"bad\">The verification did not finish.</p>"
        ),
    };
    let _ = writeln!(
        body,
        "<p><a href=\"/v1/rounds/{0}/transcript\">transcript (JSON)</a></p>",
        escape(&round)
    );
    (StatusCode::OK, page(&format!("Round {round}"), &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let value = serde_json::json!({"<b>": [{"id": "<i>", "n": 1.5}]});
        let html = render(&value);
        assert!(html.contains("&lt;b&gt;") && html.contains("&lt;i&gt;") && html.contains("1.5"));
        assert!(!html.contains("<b>") && !html.contains("<i>"));
    }
}
