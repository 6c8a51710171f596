//! Address normalisation (scheme, host, transport) and one-line error descriptions.

use crate::endpoints::EndpointError;

/// Plain or TLS, from the URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Plain,
    Tls,
}

/// `host:port` → `http://host:port`; checks scheme and host. `None` for an empty address.
pub(crate) fn normalise_uri(
    deployment: &str,
    environment: &str,
    address: &str,
) -> Result<Option<(String, Transport)>, EndpointError> {
    let address = address.trim();
    if address.is_empty() {
        return Ok(None);
    }
    let invalid = || EndpointError::invalid_uri(deployment, environment);
    let with_scheme = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    let uri: tonic::codegen::http::Uri = with_scheme.parse().map_err(|_| invalid())?;
    let transport = match uri.scheme_str() {
        Some("http") => Transport::Plain,
        Some("https") => Transport::Tls,
        _ => return Err(invalid()),
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    Ok(Some((with_scheme, transport)))
}

/// An error and its causes on one line (tonic's own message is often just "transport error").
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    for inner in std::iter::successors(error.source(), |inner| inner.source()) {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
    }
    text
}
