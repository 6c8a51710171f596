//! Test fixtures for the TLS modules: a generated PKI, a temporary directory, one endpoint.

use std::path::PathBuf;

/// A CA, and a client certificate it signed with its key, all PEM.
pub(super) struct Pki {
    pub(super) ca_pem: String,
    pub(super) client_cert_pem: String,
    pub(super) client_key_pem: String,
    pub(super) other_key_pem: String,
}

pub(super) fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let client_key = KeyPair::generate().unwrap();
    let client_cert_pem = CertificateParams::new(vec!["schemabot".to_string()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap()
        .pem();
    Pki {
        ca_pem,
        client_cert_pem,
        client_key_pem: client_key.serialize_pem(),
        other_key_pem: KeyPair::generate().unwrap().serialize_pem(),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "schemabot-tern-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(super) fn write(&self, name: &str, content: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn one(endpoint: serde_json::Value) -> String {
    serde_json::json!({ "testapp": { "staging": endpoint } }).to_string()
}
