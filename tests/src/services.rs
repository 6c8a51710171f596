//! Where the local services are: `scripts/services.sh start` exports these variables.
//! A test that needs a service and does not find it fails loudly instead of skipping.

/// The moto (DynamoDB + SQS) endpoint, from `AWS_ENDPOINT_URL`.
/// The `SenderId` the SQS emulator stamps on every message (one fixed IAM user id).
pub const EMULATOR_SENDER_ID: &str = "AIDAIT2UOQQY3AUEKVGXU";

pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run `scripts/services.sh start` and source .local/services.env (the README's test command does this)")
}

/// A root DSN for the local MariaDB, from `SCHEMABOT_TEST_MYSQL_DSN`.
pub fn mysql_dsn() -> String {
    std::env::var("SCHEMABOT_TEST_MYSQL_DSN")
        .expect("SCHEMABOT_TEST_MYSQL_DSN is not set: run `scripts/services.sh start` and source .local/services.env (the README's test command does this)")
}

/// A short unique suffix for per-test tables, queues and schemas, so tests share one emulator
/// without interfering.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A moto server of one's own, for a timing test: moto gets slower as the shared instance
/// accumulates every earlier test's tables, which would make a latency budget measure the test
/// order instead of SchemaBot. Killed (by PID, through `Drop`) when the guard goes.
pub struct PrivateMoto {
    child: std::process::Child,
    endpoint: String,
}

impl PrivateMoto {
    /// Starts moto (`scripts/moto_server.py` in the project venv, as `scripts/services.sh`
    /// does) on a free loopback port and waits until it answers.
    pub fn start() -> PrivateMoto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let child = std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server from the project venv (scripts/install.sh)");
        let address = format!("127.0.0.1:{port}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(&address).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        PrivateMoto {
            child,
            endpoint: format!("http://{address}"),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
