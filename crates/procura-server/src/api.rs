//! The HTTP API of §C.5, with its OpenAPI 3.1 document generated from
//! the handlers' annotations (utoipa): every route is registered through
//! [`utoipa_axum::routes!`], so the router and `/openapi.json` cannot
//! drift apart.
//!
//! Bodies are read with a limit per route ([`OPEN_BODY_LIMIT`],
//! [`ENTRY_BODY_LIMIT`]); a larger one is answered 413. Request bodies are
//! never logged: only the method, path, status and time of each request.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use procura_market::payload::Payload;
use procura_market::{Envelope, Kind, RoundLog};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::page;
use crate::state::{Core, Job, Reply};

/// Largest `open` body: a roster of 200,000 participants fits.
pub const OPEN_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Largest body of any other entry.
pub const ENTRY_BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) core: Arc<Core>,
    writer: mpsc::Sender<Job>,
    openapi: Arc<str>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "procura market",
        description = "Live rounds of procura's data markets (spec Part C): sealed bids by \
                       commit-reveal, DSSE envelopes, an RFC 9162 Merkle log per round with \
                       signed checkpoints, receipts and proofs. Errors are `{\"error\": \
                       \"...\"}` naming the field or rule."
    ),
    tags((name = "market", description = "The JSON API of spec §C.5"),
         (name = "pages", description = "Server-rendered HTML"))
)]
struct ApiDoc;

/// An error body.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What is wrong, naming the field or rule.
    error: String,
}

/// A DSSE envelope (§C.2).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct EnvelopeDoc {
    /// `application/vnd.procura.<kind>+json`.
    #[serde(rename = "payloadType")]
    payload_type: String,
    /// Standard base64 (with padding) of the payload bytes.
    payload: String,
    /// Exactly one signature.
    signatures: Vec<SignatureDoc>,
}

/// One signature of an envelope.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct SignatureDoc {
    /// The signer's key id: lowercase hex of its Ed25519 public key.
    keyid: String,
    /// Base64 of the 64-byte Ed25519 signature over PAE(type, payload).
    sig: String,
}

/// A receipt (§C.4).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct ReceiptDoc {
    /// The entry's index in the round's log.
    index: u64,
    /// Hex of the entry's Merkle leaf hash.
    leaf_hash: String,
    /// The signed note of the checkpoint for size index + 1.
    checkpoint: String,
    /// Hex hashes of the inclusion proof in that checkpoint.
    inclusion_proof: Vec<String>,
}

/// The answer to an `open`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct OpenedDoc {
    /// The round id.
    round: String,
    /// The receipt of entry 0.
    receipt: ReceiptDoc,
}

/// The answer to an entry: its receipt and, after a `close` that ends the
/// reveal or decide phase, the operator's `outcome` or `settle` entry's
/// receipt under `then`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct AppendedDoc {
    index: u64,
    leaf_hash: String,
    checkpoint: String,
    inclusion_proof: Vec<String>,
    then: Option<ReceiptDoc>,
}

/// A round's status.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RoundStatus {
    /// The round id.
    round: String,
    /// `qmia`, `mut`, `mixed`, `volume`, `trust` or `withdrawal`.
    mechanism: String,
    /// `commit`, `reveal`, `decide`, `cleared` or `settled`.
    phase: String,
    /// The number of entries in the log.
    size: u64,
    /// The ids that committed.
    committed: Vec<String>,
    /// The ids that revealed (ids only, never contents).
    revealed: Vec<String>,
    /// The ids that decided.
    decided: Vec<String>,
}

/// A transcript (§C.6).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct TranscriptDoc {
    /// `NAME/rounds/ROUND_ID`.
    origin: String,
    /// The operator's key id.
    operator: String,
    /// Envelopes in log order; a sealed entry is `{"leaf_hash": hex}`.
    entries: Vec<Value>,
    /// The signed checkpoint of the whole log.
    checkpoint: String,
}

/// A Merkle proof.
#[derive(Debug, Serialize, ToSchema)]
struct ProofBody {
    /// Hex hashes, RFC 9162 §2.1.3 or §2.1.4.
    proof: Vec<String>,
}

/// The operator.
#[derive(Debug, Serialize, ToSchema)]
struct OperatorBody {
    /// The server's name (the checkpoints' key name).
    name: String,
    /// The operator's key id.
    key: String,
}

/// `?from=M&to=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ConsistencyQuery {
    /// The older tree size.
    from: u64,
    /// The newer tree size, at most the log's.
    to: u64,
}

/// `?index=I&size=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InclusionQuery {
    /// The entry's index, below `size`.
    index: u64,
    /// The tree size, at most the log's.
    size: u64,
}

/// Reads a body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let error = error.into_inner();
        if error
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body: larger than this route's limit of {limit} bytes"),
            )
        } else {
            ApiError::bad_request("body: could not be read")
        }
    })
}

fn parse_envelope(bytes: &[u8]) -> Result<Envelope, ApiError> {
    Envelope::parse(bytes).map_err(|error| ApiError::bad_request(error.to_string()))
}

async fn submit(
    state: &AppState,
    job: impl FnOnce(oneshot::Sender<Reply>) -> Job,
) -> Result<Response, ApiError> {
    let (reply, answer) = oneshot::channel();
    state
        .writer
        .send(job(reply))
        .await
        .map_err(|_| ApiError::unavailable())?;
    let answer = answer.await.map_err(|_| ApiError::unavailable())??;
    // The checkpoints are signed here, on the async workers, not in the
    // writer's serial loop.
    let body = answer.sign(&state.core.key)?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Opens a round.
#[utoipa::path(
    post,
    path = "/v1/rounds",
    tag = "market",
    request_body(content = EnvelopeDoc, description = "An `open` envelope signed by the buyer", content_type = "application/json"),
    responses(
        (status = 201, description = "The round is open; the receipt of entry 0", body = OpenedDoc),
        (status = 400, description = "Malformed, an instance or roster that breaks a rule, an `operator` that is not the server's key", body = ErrorBody),
        (status = 401, description = "The signature does not verify", body = ErrorBody),
        (status = 409, description = "A round with this id exists", body = ErrorBody),
        (status = 413, description = "The body is over 64 MiB, or the server holds its limit of rounds", body = ErrorBody),
        (status = 503, description = "Storage failed; nothing was stored", body = ErrorBody),
    )
)]
async fn open_round(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let bytes = read_body(body, OPEN_BODY_LIMIT).await?;
    let envelope = parse_envelope(&bytes)?;
    if envelope.kind() != Kind::Open {
        return Err(ApiError::bad_request(format!(
            "payloadType: POST /v1/rounds takes an open envelope, not a {} envelope",
            envelope.kind().name()
        )));
    }
    envelope
        .verify()
        .map_err(|error| ApiError::new(StatusCode::UNAUTHORIZED, error.to_string()))?;
    if let Ok(Payload::Open(open)) = Payload::parse(Kind::Open, envelope.payload()) {
        if let Some(operator) = open
            .operator
            .filter(|o| *o != state.core.key_id.to_string())
        {
            return Err(ApiError::bad_request(format!(
                "operator: {operator:?} is not this server's key ({}); omit the field or name \
                 this key",
                state.core.key_id
            )));
        }
    }
    let operator = state.core.key_id;
    // Opening clears the whole roster once: off the async workers.
    let log = tokio::task::spawn_blocking(move || RoundLog::open(envelope, operator))
        .await
        .map_err(|_| ApiError::unavailable())??;
    submit(&state, |reply| Job::Open {
        log: Box::new(log),
        reply,
    })
    .await
}

/// Appends an entry to a round.
#[utoipa::path(
    post,
    path = "/v1/rounds/{round}/entries",
    tag = "market",
    params(("round" = String, Path, description = "The round id")),
    request_body(content = EnvelopeDoc, description = "A `commit`, `close`, `reveal` or `decide` envelope", content_type = "application/json"),
    responses(
        (status = 201, description = "Stored; its receipt, and the operator's entry's under `then`", body = AppendedDoc),
        (status = 400, description = "Malformed: not an envelope, bad base64, a payload that is not the kind's object, a round id that differs from the path, a reported number that breaks a rule", body = ErrorBody),
        (status = 401, description = "The signature does not verify", body = ErrorBody),
        (status = 403, description = "The signer may not send this entry", body = ErrorBody),
        (status = 404, description = "No such round", body = ErrorBody),
        (status = 409, description = "A valid entry at the wrong time", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB, or the round's log is full", body = ErrorBody),
        (status = 500, description = "The round's stored log failed the integrity check", body = ErrorBody),
        (status = 503, description = "Storage failed; nothing was stored", body = ErrorBody),
    )
)]
async fn append_entry(
    State(state): State<AppState>,
    Path(round): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(body, ENTRY_BODY_LIMIT).await?;
    state.core.known(&round).await?;
    let envelope = parse_envelope(&bytes)?;
    submit(&state, |reply| Job::Append {
        round,
        envelope: Box::new(envelope),
        reply,
    })
    .await
}

/// A round's status.
#[utoipa::path(
    get,
    path = "/v1/rounds/{round}",
    tag = "market",
    params(("round" = String, Path, description = "The round id")),
    responses(
        (status = 200, description = "The round's status", body = RoundStatus),
        (status = 404, description = "No such round", body = ErrorBody),
        (status = 500, description = "The round's stored log failed the integrity check", body = ErrorBody),
    )
)]
async fn get_round(
    State(state): State<AppState>,
    Path(round): Path<String>,
) -> Result<Json<RoundStatus>, ApiError> {
    let log = state.core.round(&round).await?;
    let log = log.read().await;
    Ok(Json(status_of(&log)))
}

pub(crate) fn status_of(log: &RoundLog) -> RoundStatus {
    let round = log.round();
    let owned = |ids: Vec<&str>| ids.into_iter().map(str::to_owned).collect();
    RoundStatus {
        round: round.id().to_string(),
        mechanism: round.mechanism().name().to_owned(),
        phase: round.phase().name().to_owned(),
        size: round.size(),
        committed: owned(round.committed()),
        revealed: owned(round.revealed()),
        decided: owned(round.decided()),
    }
}

/// A round's outcome.
#[utoipa::path(
    get,
    path = "/v1/rounds/{round}/outcome",
    tag = "market",
    params(("round" = String, Path, description = "The round id")),
    responses(
        (status = 200, description = "The outcome object `procura clear` prints", body = Object),
        (status = 404, description = "No such round", body = ErrorBody),
        (status = 409, description = "The reveal phase is not closed", body = ErrorBody),
        (status = 500, description = "The round's stored log failed the integrity check", body = ErrorBody),
    )
)]
async fn get_outcome(
    State(state): State<AppState>,
    Path(round): Path<String>,
) -> Result<Response, ApiError> {
    let log = state.core.round(&round).await?;
    let log = log.read().await;
    match log.round().outcome_text() {
        // The text `procura clear` prints, as is: no number is re-printed.
        Some(text) => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            text.to_owned(),
        )
            .into_response()),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "outcome: round {round:?} is in the {} phase; the outcome is known once the \
                 reveal phase is closed",
                log.round().phase().name()
            ),
        )),
    }
}

/// A round's transcript, sealed entries shown by their leaf hashes.
#[utoipa::path(
    get,
    path = "/v1/rounds/{round}/transcript",
    tag = "market",
    params(("round" = String, Path, description = "The round id")),
    responses(
        (status = 200, description = "The transcript", body = TranscriptDoc),
        (status = 404, description = "No such round", body = ErrorBody),
        (status = 500, description = "The round's stored log failed the integrity check", body = ErrorBody),
    )
)]
async fn get_transcript(
    State(state): State<AppState>,
    Path(round): Path<String>,
) -> Result<Response, ApiError> {
    let log = state.core.round(&round).await?;
    let log = log.read().await;
    Ok(Json(log.transcript(&state.core.name, &state.core.key)).into_response())
}

fn query_error(rejection: &QueryRejection) -> ApiError {
    ApiError::bad_request(format!("query: {}", rejection.body_text()))
}

fn proof_body(proof: &[procura_market::merkle::Hash]) -> Json<ProofBody> {
    Json(ProofBody {
        proof: proof.iter().map(hex::encode).collect(),
    })
}

/// A consistency proof between two tree sizes.
#[utoipa::path(
    get,
    path = "/v1/rounds/{round}/proof/consistency",
    tag = "market",
    params(("round" = String, Path, description = "The round id"), ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ProofBody),
        (status = 400, description = "Missing or out-of-range sizes", body = ErrorBody),
        (status = 404, description = "No such round", body = ErrorBody),
    )
)]
async fn get_consistency(
    State(state): State<AppState>,
    Path(round): Path<String>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ProofBody>, ApiError> {
    let log = state.core.round(&round).await?;
    let Query(query) = query.map_err(|rejection| query_error(&rejection))?;
    let log = log.read().await;
    let proof = log
        .round()
        .tree()
        .consistency_proof(query.from, query.to)
        .map_err(|error| ApiError::bad_request(format!("from, to: {error}")))?;
    Ok(proof_body(&proof))
}

/// An inclusion proof of one entry in a tree size.
#[utoipa::path(
    get,
    path = "/v1/rounds/{round}/proof/inclusion",
    tag = "market",
    params(("round" = String, Path, description = "The round id"), InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = ProofBody),
        (status = 400, description = "Missing or out-of-range index or size", body = ErrorBody),
        (status = 404, description = "No such round", body = ErrorBody),
    )
)]
async fn get_inclusion(
    State(state): State<AppState>,
    Path(round): Path<String>,
    query: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<ProofBody>, ApiError> {
    let log = state.core.round(&round).await?;
    let Query(query) = query.map_err(|rejection| query_error(&rejection))?;
    let log = log.read().await;
    let proof = log
        .round()
        .tree()
        .inclusion_proof(query.index, query.size)
        .map_err(|error| ApiError::bad_request(format!("index, size: {error}")))?;
    Ok(proof_body(&proof))
}

/// The operator: the server's name and key id.
#[utoipa::path(
    get,
    path = "/v1/operator",
    tag = "market",
    responses((status = 200, description = "The operator", body = OperatorBody))
)]
async fn get_operator(State(state): State<AppState>) -> Json<OperatorBody> {
    Json(OperatorBody {
        name: state.core.name.clone(),
        key: state.core.key_id.to_string(),
    })
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "market",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
async fn get_openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.to_string(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "path: no such endpoint")
}

/// Logs each request's method, path, status and time; never its body.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let start = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// The router and its OpenAPI document, before the state is bound.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(open_round))
        .routes(routes!(append_entry))
        .routes(routes!(get_round))
        .routes(routes!(get_outcome))
        .routes(routes!(get_transcript))
        .routes(routes!(get_consistency))
        .routes(routes!(get_inclusion))
        .routes(routes!(get_operator))
        .routes(routes!(get_openapi))
        .routes(routes!(page::index))
        .routes(routes!(page::round))
        .split_for_parts()
}

/// The OpenAPI document as JSON text.
#[must_use]
pub fn openapi_json() -> String {
    documented().1.to_pretty_json().unwrap_or_default()
}

/// The whole application: routes, state, limits and logging.
pub(crate) fn router(core: Arc<Core>, writer: mpsc::Sender<Job>) -> Router {
    let (router, document) = documented();
    let state = AppState {
        core,
        writer,
        openapi: document.to_pretty_json().unwrap_or_default().into(),
    };
    router
        .fallback(not_found)
        // Bodies are read with each route's own limit.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}
