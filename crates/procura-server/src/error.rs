//! JSON errors: every refusal is `{"error": "<message naming the field or
//! rule>"}` with the status of §C.5.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use procura_market::Refusal;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(round: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("round: no round {round:?}"))
    }

    /// A batch whose transaction failed: nothing of it was stored.
    pub(crate) fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage: the entry could not be stored durably, nothing was appended; try again",
        )
    }

    /// A round whose stored log failed the start-up check.
    pub(crate) fn broken(round: &str, reason: &str) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "round {round:?} is not served: its stored log failed the integrity check ({reason})"
            ),
        )
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        ApiError::new(
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST),
            refusal.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}
