//! TLS to the target database, chosen per DSN by two query parameters of ours, taken out of the
//! URL before the driver parses it:
//!
//! * `ssl-mode=disabled`: no TLS. Without `ssl-mode` there is no TLS either, unless the DSN
//!   uses the driver's own `require_ssl` parameters (unchanged behaviour).
//! * `ssl-mode=required`: encrypted, but the server's certificate is not checked at all, so an
//!   active man-in-the-middle goes unnoticed. Protects against passive eavesdropping only.
//! * `ssl-mode=verify_ca`: encrypted; the certificate chain must lead to a trusted CA. The
//!   driver cannot leave out the host-name check, so it also checks that the certificate names
//!   the DSN's host: in effect the same as `verify_identity`.
//! * `ssl-mode=verify_identity`: encrypted; the chain must lead to a trusted CA and the
//!   certificate must name the DSN's host (DNS name or IP address).
//!
//! `ssl-ca=<path>` (with `verify_ca`/`verify_identity` only): a PEM file of the CAs to trust,
//! and only those. Without it the Mozilla roots built into the driver are trusted.
//! Values are case-insensitive (`VERIFY_IDENTITY` works). Anything else is a configuration
//! error; its message never contains the DSN.

use std::path::PathBuf;

use mysql_async::{Opts, OptsBuilder, SslOpts};

use crate::error::SentinelError;

pub(crate) const SSL_MODE: &str = "ssl-mode";
pub(crate) const SSL_CA: &str = "ssl-ca";

/// The driver's own TLS parameters: mixing them with `ssl-mode` would be ambiguous.
const DRIVER_TLS_PARAMS: [&str; 4] = [
    "require_ssl",
    "verify_ca",
    "verify_identity",
    "built_in_roots",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disabled,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        match value.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" => Some(SslMode::Disabled),
            "required" => Some(SslMode::Required),
            "verify_ca" => Some(SslMode::VerifyCa),
            "verify_identity" => Some(SslMode::VerifyIdentity),
            _ => None,
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyIdentity)
    }
}

/// A DSN's TLS choice, and the URL for the driver without our parameters. No `Debug`: the URL
/// holds the password.
pub(crate) struct DsnTls {
    pub(crate) driver_url: String,
    pub(crate) mode: Option<SslMode>,
    pub(crate) ca_file: Option<PathBuf>,
}

fn invalid(reason: &str) -> SentinelError {
    SentinelError::InvalidTlsSettings(reason.to_string())
}

/// Takes `ssl-mode` and `ssl-ca` out of the query string and checks they go together.
pub(crate) fn split_dsn(dsn: &str) -> Result<DsnTls, SentinelError> {
    let (before_fragment, fragment) = match dsn.split_once('#') {
        Some((url, fragment)) => (url, Some(fragment)),
        None => (dsn, None),
    };
    let Some((base, query)) = before_fragment.split_once('?') else {
        return Ok(DsnTls {
            driver_url: dsn.to_string(),
            mode: None,
            ca_file: None,
        });
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut mode = None;
    let mut ca_file = None;
    let mut driver_tls = false;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            SSL_MODE => {
                if mode.is_some() {
                    return Err(invalid("ssl-mode is given twice"));
                }
                mode = Some(SslMode::parse(&form_decode(value)).ok_or_else(|| {
                    invalid("ssl-mode must be disabled, required, verify_ca or verify_identity")
                })?);
            }
            SSL_CA => {
                if ca_file.is_some() {
                    return Err(invalid("ssl-ca is given twice"));
                }
                let path = form_decode(value);
                if path.trim().is_empty() {
                    return Err(invalid("ssl-ca is empty"));
                }
                ca_file = Some(PathBuf::from(path));
            }
            _ => {
                driver_tls |= DRIVER_TLS_PARAMS.contains(&key);
                kept.push(pair);
            }
        }
    }
    if mode.is_some() && driver_tls {
        return Err(invalid(
            "ssl-mode cannot be combined with require_ssl, verify_ca, verify_identity or built_in_roots",
        ));
    }
    if ca_file.is_some() && !mode.is_some_and(SslMode::verifies) {
        return Err(invalid(
            "ssl-ca needs ssl-mode=verify_ca or verify_identity",
        ));
    }
    let mut driver_url = base.to_string();
    if !kept.is_empty() {
        driver_url.push('?');
        driver_url.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        driver_url.push('#');
        driver_url.push_str(fragment);
    }
    Ok(DsnTls {
        driver_url,
        mode,
        ca_file,
    })
}

impl DsnTls {
    /// The driver's TLS options; `None` keeps what the URL itself says. Reads `ssl-ca` now,
    /// so a missing or empty file is reported when the pool is built, not at every connect.
    fn ssl_opts(&self) -> Result<Option<Option<SslOpts>>, SentinelError> {
        let Some(mode) = self.mode else {
            return Ok(None);
        };
        let opts = match mode {
            SslMode::Disabled => None,
            SslMode::Required => Some(SslOpts::default().with_danger_accept_invalid_certs(true)),
            SslMode::VerifyCa | SslMode::VerifyIdentity => {
                // Both check the host name: see the module documentation.
                let mut opts = SslOpts::default();
                if let Some(path) = &self.ca_file {
                    let pem = std::fs::read(path)
                        .map_err(|e| invalid(&format!("cannot read the ssl-ca file: {e}")))?;
                    if !pem
                        .windows(b"-----BEGIN CERTIFICATE-----".len())
                        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
                    {
                        return Err(invalid("the ssl-ca file holds no PEM certificate"));
                    }
                    opts = opts
                        .with_root_certs(vec![pem.into()])
                        .with_disable_built_in_roots(true);
                }
                Some(opts)
            }
        };
        Ok(Some(opts))
    }
}

/// The connection options the checker uses for `dsn` (its TLS choice applied, no pool
/// settings): for tools and tests that need a connection of their own.
pub fn connection_opts(dsn: &crate::TargetDsn) -> Result<Opts, SentinelError> {
    driver_opts(dsn.expose()).map(Opts::from)
}

/// The driver options for `dsn`, with its TLS choice applied (no pool settings).
pub(crate) fn driver_opts(dsn: &str) -> Result<OptsBuilder, SentinelError> {
    let tls = split_dsn(dsn)?;
    let opts = Opts::from_url(&tls.driver_url).map_err(|_| SentinelError::InvalidDsn)?;
    let mut builder = OptsBuilder::from_opts(opts)
        // Lambda has no local socket; do not try to switch to one.
        .prefer_socket(false);
    if let Some(ssl_opts) = tls.ssl_opts()? {
        builder = builder.ssl_opts(ssl_opts);
    }
    Ok(builder)
}

/// `application/x-www-form-urlencoded` decoding, as the driver reads its own parameters.
fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && hex_pair(bytes[i + 1], bytes[i + 2]).is_some() => {
                out.extend(hex_pair(bytes[i + 1], bytes[i + 2]));
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(high)? * 16 + digit(low)?) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "mysql://u:s3cret@db.internal:3306/shop";

    #[test]
    fn our_parameters_are_taken_out_and_the_rest_kept() {
        let tls = split_dsn(&format!(
            "{BASE}?ssl-mode=VERIFY_IDENTITY&pool_max=3&ssl-ca=%2Fetc%2Fca%20bundle.pem"
        ))
        .unwrap();
        assert_eq!(tls.driver_url, format!("{BASE}?pool_max=3"));
        assert_eq!(tls.mode, Some(SslMode::VerifyIdentity));
        assert_eq!(tls.ca_file, Some(PathBuf::from("/etc/ca bundle.pem")));

        let tls = split_dsn(&format!("{BASE}?ssl-mode=required")).unwrap();
        assert_eq!(tls.driver_url, BASE);
        assert_eq!(tls.mode, Some(SslMode::Required));

        let tls = split_dsn(BASE).unwrap();
        assert_eq!(tls.driver_url, BASE);
        assert_eq!(tls.mode, None);
        assert_eq!(
            split_dsn(&format!("{BASE}?ssl-mode=verify-ca"))
                .unwrap()
                .mode,
            Some(SslMode::VerifyCa)
        );
    }

    #[test]
    fn the_driver_accepts_what_is_left() {
        for dsn in [
            format!("{BASE}?ssl-mode=required"),
            format!("{BASE}?ssl-mode=disabled&prefer_socket=false"),
            format!("{BASE}?ssl-mode=verify_identity"),
        ] {
            driver_opts(&dsn).unwrap();
        }
        let opts: Opts = driver_opts(&format!("{BASE}?ssl-mode=required"))
            .unwrap()
            .into();
        assert!(opts.ssl_opts().unwrap().accept_invalid_certs());
        let opts: Opts = driver_opts(&format!("{BASE}?ssl-mode=verify_ca"))
            .unwrap()
            .into();
        let ssl = opts.ssl_opts().unwrap();
        assert!(!ssl.accept_invalid_certs() && !ssl.skip_domain_validation());
        let opts: Opts = driver_opts(&format!("{BASE}?ssl-mode=disabled"))
            .unwrap()
            .into();
        assert!(opts.ssl_opts().is_none());
        // Without ssl-mode the driver's own parameters still work.
        let opts: Opts = driver_opts(&format!("{BASE}?require_ssl=true"))
            .unwrap()
            .into();
        assert!(opts.ssl_opts().is_some());
    }

    #[test]
    fn bad_settings_are_configuration_errors_that_never_show_the_dsn() {
        for (query, expected) in [
            ("ssl-mode=preferred", "must be disabled, required"),
            ("ssl-mode=s3cret", "must be disabled, required"),
            ("ssl-mode=required&ssl-mode=disabled", "twice"),
            ("ssl-mode=required&ssl-ca=/ca.pem", "ssl-ca needs"),
            ("ssl-ca=/ca.pem", "ssl-ca needs"),
            ("ssl-mode=verify_ca&ssl-ca=", "ssl-ca is empty"),
            ("ssl-mode=required&require_ssl=true", "cannot be combined"),
            (
                "ssl-mode=verify_identity&ssl-ca=/nonexistent/ca.pem",
                "cannot read the ssl-ca file",
            ),
        ] {
            let err = driver_opts(&format!("{BASE}?{query}"))
                .map(|_| ())
                .unwrap_err();
            assert!(
                matches!(err, SentinelError::InvalidTlsSettings(_)),
                "{query}: {err:?}"
            );
            assert!(!err.is_transient());
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(expected), "{query}: {shown}");
            assert!(
                !shown.contains("s3cret") && !shown.contains("db.internal"),
                "{shown}"
            );
        }
    }

    #[test]
    fn form_decoding_handles_escapes_and_leaves_broken_ones() {
        assert_eq!(form_decode("a%2Fb+c"), "a/b c");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz"), "%zz");
    }
}
