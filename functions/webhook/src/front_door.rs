//! The three ways a Lambda is fronted for HTTP — API Gateway HTTP API (payload 2.0), API Gateway
//! REST proxy (payload 1.0) and Lambda Function URLs — reduced to what the webhook needs: headers
//! (case-insensitive), the raw body bytes (base64-decoded when flagged) and a response of the shape
//! all three accept.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use serde::Deserialize;
use std::collections::HashMap;

/// GitHub caps webhook payloads at 25 MB; we accept up to 5 MiB of raw body, which is far above any
/// comment event (a PR comment body is capped by GitHub at 65,536 characters).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The fields shared by all three event shapes. Everything else in the event is ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpEvent {
    #[serde(default)]
    headers: HashMap<String, Option<String>>,
    /// REST proxy (1.0) events may carry headers only here.
    #[serde(default)]
    multi_value_headers: HashMap<String, Option<Vec<String>>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontDoorError {
    #[error("request body is not valid base64")]
    BadBase64,
    #[error("request body exceeds {MAX_BODY_BYTES} bytes")]
    TooLarge,
}

/// A request with headers looked up case-insensitively and the raw body.
#[derive(Debug)]
pub struct WebhookRequest {
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// Header names are kept as the sender wrote them: read them only through [`Self::header`].
    pub fn new(headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        WebhookRequest { headers, body }
    }

    /// Case-insensitive header lookup (HTTP header names are case-insensitive; API Gateway 1.0
    /// preserves the sender's case, 2.0 lower-cases).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl HttpEvent {
    pub fn into_request(self) -> Result<WebhookRequest, FrontDoorError> {
        let mut headers: Vec<(String, String)> = self
            .headers
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        for (name, values) in self.multi_value_headers {
            let Some(first) = values.and_then(|v| v.into_iter().next()) else {
                continue;
            };
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(&name)) {
                headers.push((name, first));
            }
        }
        let raw = self.body.unwrap_or_default();
        // Base64 inflates by 4/3; refuse before decoding anything huge.
        if raw.len() > MAX_BODY_BYTES.saturating_mul(4) / 3 + 4 {
            return Err(FrontDoorError::TooLarge);
        }
        let body = if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(raw.as_bytes())
                .map_err(|_| FrontDoorError::BadBase64)?
        } else {
            raw.into_bytes()
        };
        if body.len() > MAX_BODY_BYTES {
            return Err(FrontDoorError::TooLarge);
        }
        Ok(WebhookRequest::new(headers, body))
    }
}

/// A JSON response (`{"message": …}` or `{"error": …}`) in the shape every front end accepts.
pub fn json_response(
    status: u16,
    key: &str,
    text: &str,
    extra: &[(&str, &str)],
) -> ApiGatewayV2httpResponse {
    let mut object = serde_json::Map::new();
    object.insert(key.to_string(), serde_json::Value::String(text.to_string()));
    object.extend(
        extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string().into())),
    );
    let mut body = serde_json::Value::Object(object).to_string();
    body.push('\n');
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.body = Some(Body::Text(body));
    response.is_base64_encoded = false;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_multi_value_headers_fill_gaps() {
        let event: HttpEvent = serde_json::from_str(
            r#"{"headers":{"X-GitHub-Event":"ping"},"multiValueHeaders":{"X-GitHub-Delivery":["d1"],"x-github-event":["other"]},"body":"{}","isBase64Encoded":false}"#,
        )
        .unwrap();
        let req = event.into_request().unwrap();
        assert_eq!(req.header("x-github-event"), Some("ping"));
        assert_eq!(req.header("X-GITHUB-DELIVERY"), Some("d1"));
        assert_eq!(req.body, b"{}");
    }

    #[test]
    fn base64_bodies_are_decoded_and_bad_base64_refused() {
        let event: HttpEvent =
            serde_json::from_str(r#"{"headers":{},"body":"e30=","isBase64Encoded":true}"#).unwrap();
        assert_eq!(event.into_request().unwrap().body, b"{}");
        let bad: HttpEvent =
            serde_json::from_str(r#"{"headers":{},"body":"!!!","isBase64Encoded":true}"#).unwrap();
        assert_eq!(bad.into_request().unwrap_err(), FrontDoorError::BadBase64);
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let event = HttpEvent {
            body: Some("x".repeat(MAX_BODY_BYTES + 1)),
            ..HttpEvent::default()
        };
        assert_eq!(event.into_request().unwrap_err(), FrontDoorError::TooLarge);
    }

    #[test]
    fn responses_are_one_key_json_with_newline() {
        let r = json_response(401, "error", "invalid webhook signature", &[]);
        assert_eq!(r.status_code, 401);
        match r.body {
            Some(Body::Text(t)) => assert_eq!(t, "{\"error\":\"invalid webhook signature\"}\n"),
            other => panic!("unexpected body {other:?}"),
        }
    }
}
