//! Test PKI for the TLS tests, made afresh by each test with rcgen (ring): a CA, a server
//! certificate for `localhost` and 127.0.0.1, a client certificate, and an unrelated second
//! CA. PEM in memory; [`TestPki::write_to`] puts it in files for tests that need paths.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// The PEMs of one test PKI.
#[derive(Clone)]
pub struct TestPki {
    /// The CA that signed the server and client certificates.
    pub ca_pem: String,
    /// For `localhost` and 127.0.0.1.
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    /// A CA that did not sign the server: trusting it alone must refuse the server.
    pub other_ca_pem: String,
    /// A client certificate from the other CA: a server requiring mTLS must refuse it.
    pub other_client_cert_pem: String,
    pub other_client_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestPki(..)")
    }
}

impl TestPki {
    pub fn generate() -> TestPki {
        let (ca_pem, ca) = certificate_authority("SchemaBot test CA");
        let (other_ca_pem, other_ca) = certificate_authority("Unrelated test CA");
        let (server_cert_pem, server_key_pem) = leaf(
            &ca,
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert_pem, client_key_pem) = leaf(
            &ca,
            "schemabot-worker",
            &["schemabot-worker"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (other_client_cert_pem, other_client_key_pem) = leaf(
            &other_ca,
            "intruder",
            &["intruder"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        TestPki {
            ca_pem,
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
            other_ca_pem,
            other_client_cert_pem,
            other_client_key_pem,
        }
    }

    /// Server TLS for the stand-in: its certificate, no client certificate asked for.
    pub fn server_tls(&self) -> ServerTlsConfig {
        ServerTlsConfig::new().identity(Identity::from_pem(
            &self.server_cert_pem,
            &self.server_key_pem,
        ))
    }

    /// Server TLS that requires a client certificate signed by the test CA (mTLS).
    pub fn server_tls_requiring_client_cert(&self) -> ServerTlsConfig {
        self.server_tls()
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
    }

    /// Writes every PEM into `dir` (which must exist).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PkiFiles> {
        let write = |name: &str, content: &str| -> std::io::Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, content)?;
            Ok(path)
        };
        Ok(PkiFiles {
            ca: write("ca.pem", &self.ca_pem)?,
            server_cert: write("server.pem", &self.server_cert_pem)?,
            server_key: write("server.key", &self.server_key_pem)?,
            client_cert: write("client.pem", &self.client_cert_pem)?,
            client_key: write("client.key", &self.client_key_pem)?,
            other_ca: write("other-ca.pem", &self.other_ca_pem)?,
        })
    }
}

/// Where [`TestPki::write_to`] put each PEM.
#[derive(Debug, Clone)]
pub struct PkiFiles {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
}

/// A new directory under the system temp dir, removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let dir = std::env::temp_dir().join(crate::services::unique(prefix));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn certificate_authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("generate a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let pem = params.self_signed(&key).expect("self-sign the CA").pem();
    (pem, Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    common_name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().expect("generate a key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("certificate parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, issuer)
        .expect("sign the certificate");
    (cert.pem(), key.serialize_pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_distinct_pems_and_writes_them() {
        let pki = TestPki::generate();
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.server_key_pem.contains("PRIVATE KEY"));
        assert_ne!(pki.ca_pem, pki.other_ca_pem);
        let dir = TempDir::new("pki").unwrap();
        let files = pki.write_to(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&files.ca).unwrap(), pki.ca_pem);
        let kept = dir.path().to_path_buf();
        drop(dir);
        assert!(!kept.exists());
    }
}
