//! Properties of the webhook's intake (raw body → event → command) over generated payloads:
//! a generated comment body inside a realistic `issue_comment` payload yields the command the
//! domain parser reads from that body, and no input — arbitrary bytes, damaged or truncated
//! payloads — makes admission panic or answer anything but 200, 202 or 400.
//!
//! Cases: `PROPTEST_CASES` when set, 2000 otherwise.

use proptest::prelude::*;
use schemabot_domain::command::parse;
use schemabot_domain::{CommentId, DeliveryId, InstallationId, PrNumber};
use serde_json::{json, Value};
use webhook::autoplan::AutoplanPolicy;
use webhook::front_door::WebhookRequest;
use webhook::github_event::PayloadError;
use webhook::handler::{admit, read_comment, Admission, CommentIntake};
use webhook::routing::{route, Routed, RoutingConfig};
use webhook::signature::{sign, WebhookSecrets};

const SECRET: &[u8] = b"property-webhook-secret";
const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const COMMENT_FIXTURE: &str = include_str!("fixtures/issue_comment_cutover.json");
const PULL_FIXTURE: &str = include_str!("fixtures/pull_request_synchronize.json");

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A stack serving `repository` (the one the payload names, so that commands get past the
/// allowlist and every routing rule is exercised).
fn routing_for(repository: &str) -> RoutingConfig {
    RoutingConfig {
        environments: vec!["staging".parse().unwrap(), "production".parse().unwrap()],
        owned: vec![],
        primary: true,
        repositories: vec![repository.parse().unwrap()],
        autoplan: AutoplanPolicy::default(),
    }
}

fn routing() -> RoutingConfig {
    routing_for("acme-payments/schemas")
}

fn signed(event: &str, body: &[u8]) -> WebhookRequest {
    WebhookRequest::new(
        vec![
            ("X-GitHub-Event".into(), event.into()),
            ("X-GitHub-Delivery".into(), DELIVERY.into()),
            ("X-Hub-Signature-256".into(), sign(SECRET, body)),
        ],
        body.to_vec(),
    )
}

/// Comment text that reaches every part of the command parser and every JSON string escape.
const FRAGMENTS: &[&str] = &[
    "schemabot",
    "@SchemaBot",
    "cutover",
    "plan",
    "apply",
    "apply-confirm",
    "unlock",
    "help",
    "stop",
    "apply-0123456789abcdef",
    "apply-xyz",
    "-e",
    "--env=",
    "-d",
    "--defer-cutover",
    "--allow-unsafe",
    "staging",
    "Production",
    "dev",
    "payments",
    " ",
    "\t",
    "\n",
    "\r\n",
    "```",
    "`",
    "> ",
    "<!--",
    "-->",
    "\"",
    "\\",
    "\\\"",
    "/",
    "\u{0}",
    "\u{1f}",
    "\u{7f}",
    "é",
    "🚀",
    "\u{2028}",
    "{",
    "]",
];

fn comment_body() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40)
            .prop_map(|parts| parts.concat()),
        1 => any::<String>(),
    ]
}

/// The people and places a payload names.
#[derive(Debug, Clone)]
struct Origin {
    login: String,
    owner: String,
    repo: String,
    pr: u64,
    comment_id: u64,
    installation_id: u64,
}

fn origin() -> impl Strategy<Value = Origin> {
    (
        "[a-zA-Z0-9][a-zA-Z0-9-]{0,38}",
        "[a-zA-Z0-9][a-zA-Z0-9-]{0,20}",
        "[a-zA-Z0-9._-]{1,40}",
        1..100_000u64,
        1..u64::MAX,
        1..u64::MAX,
    )
        .prop_map(
            |(login, owner, repo, pr, comment_id, installation_id)| Origin {
                login,
                owner,
                repo,
                pr,
                comment_id,
                installation_id,
            },
        )
}

fn user(login: &str, id: u64, kind: &str) -> Value {
    json!({
        "login": login,
        "id": id,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "html_url": format!("https://github.com/{login}"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false
    })
}

/// An `issue_comment` `created` payload shaped like GitHub's.
fn issue_comment_payload(o: &Origin, body: &str) -> Value {
    let full_name = format!("{}/{}", o.owner, o.repo);
    let api = format!("https://api.github.com/repos/{full_name}");
    json!({
        "action": "created",
        "issue": {
            "url": format!("{api}/issues/{}", o.pr),
            "id": 2612345678u64,
            "number": o.pr,
            "title": "Add \"idx_status\" to orders",
            "user": user("alice-dba", 583231, "User"),
            "labels": [{"id": 1, "name": "schema", "color": "ededed", "default": false}],
            "state": "open",
            "locked": false,
            "assignee": null,
            "assignees": [],
            "milestone": null,
            "comments": 3,
            "created_at": "2025-11-20T09:12:44Z",
            "author_association": "MEMBER",
            "draft": false,
            "pull_request": {
                "url": format!("{api}/pulls/{}", o.pr),
                "html_url": format!("https://github.com/{full_name}/pull/{}", o.pr),
                "merged_at": null
            },
            "body": "Adds an index.\r\n\r\n- [x] tested",
            "reactions": {"total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0},
            "performed_via_github_app": null
        },
        "comment": {
            "url": format!("{api}/issues/comments/{}", o.comment_id),
            "html_url": format!("https://github.com/{full_name}/pull/{}#issuecomment-{}", o.pr, o.comment_id),
            "id": o.comment_id,
            "node_id": "IC_kwDOH5xYz86Tx1y2",
            "user": user(&o.login, 42, "User"),
            "created_at": "2025-11-21T14:03:10Z",
            "updated_at": "2025-11-21T14:03:10Z",
            "author_association": "MEMBER",
            "body": body,
            "reactions": {"total_count": 0, "+1": 0, "-1": 0},
            "performed_via_github_app": null
        },
        "repository": {
            "id": 512345678,
            "name": o.repo,
            "full_name": full_name,
            "private": true,
            "owner": user(&o.owner, 7, "Organization"),
            "topics": ["mysql", "schema"],
            "default_branch": "main"
        },
        "organization": {"login": o.owner, "id": 7},
        "sender": user(&o.login, 42, "User"),
        "installation": {"id": o.installation_id, "node_id": "MDIzOkludGVncmF0aW9u"}
    })
}

/// Structural damage: bytes replaced, inserted or removed, or the text cut off.
fn damage(mut bytes: Vec<u8>, edits: Vec<(usize, u8, u8)>) -> Vec<u8> {
    const BYTES: &[u8] = b"\"\\{}[]:,0 n\xc3\xff";
    for (at, what, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        let byte = BYTES[usize::from(byte) % BYTES.len()];
        match what % 4 {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn answer_status(admission: &Admission) -> u16 {
    match admission {
        Admission::Answer(answer) => answer.status,
        Admission::Enqueue(_) => 202,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_command_seen_is_the_one_parsed_from_the_comment_body(
        body in comment_body(),
        o in origin(),
        pretty in any::<bool>(),
    ) {
        let payload = issue_comment_payload(&o, &body);
        let text = if pretty {
            serde_json::to_string_pretty(&payload).unwrap()
        } else {
            payload.to_string()
        };
        let intake = read_comment(text.as_bytes());
        let Ok(CommentIntake::Comment { comment, command }) = intake else {
            return Err(TestCaseError::fail(format!("not read as a PR comment: {intake:?}")));
        };
        prop_assert_eq!(&command, &parse(&body));
        prop_assert_eq!(&*comment.body, body.as_str());
        prop_assert_eq!(comment.commenter.0.as_str(), o.login.as_str());
        prop_assert_eq!(
            comment.repository.as_str(),
            format!("{}/{}", o.owner, o.repo).to_ascii_lowercase()
        );
        prop_assert_eq!(comment.pr, PrNumber(o.pr));
        prop_assert_eq!(comment.comment_id, CommentId(o.comment_id));
        prop_assert_eq!(comment.installation_id, InstallationId(o.installation_id));

        // Admission (signature, headers, intake, routing) decides what the command decides.
        let delivery = DeliveryId::parse(DELIVERY).unwrap();
        let routing = routing_for(&format!("{}/{}", o.owner, o.repo));
        let admitted = admit(
            &WebhookSecrets::new(&[SECRET]).unwrap(),
            &routing,
            &signed("issue_comment", text.as_bytes()),
        );
        match (route(&delivery, &comment, parse(&body), &routing), admitted) {
            (Routed::Ignored(why), Admission::Answer(answer)) => {
                prop_assert_eq!((answer.status, answer.text.as_ref()), (200, why));
            }
            (Routed::Enqueue(job), Admission::Enqueue(ready)) => {
                prop_assert_eq!(ready.job, job);
                prop_assert_eq!(ready.delivery_id, delivery);
            }
            (routed, admitted) => {
                return Err(TestCaseError::fail(format!(
                    "routed {routed:?} but admitted {admitted:?}"
                )));
            }
        }
    }

    #[test]
    fn damaged_payloads_are_answered_without_panicking(
        body in comment_body(),
        o in origin(),
        pull in any::<bool>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let (event, payload) = if pull {
            ("pull_request", PULL_FIXTURE.as_bytes().to_vec())
        } else {
            ("issue_comment", issue_comment_payload(&o, &body).to_string().into_bytes())
        };
        let damaged = damage(payload, edits);
        if !pull {
            match read_comment(&damaged) {
                Ok(_) | Err(PayloadError::Json(_)) | Err(PayloadError::MissingInstallation) => {}
                Err(PayloadError::Field(field)) => {
                    prop_assert!(
                        matches!(field, "repository.full_name" | "issue.state"),
                        "{}", field
                    );
                }
            }
        }
        let admitted = admit(
            &WebhookSecrets::new(&[SECRET]).unwrap(),
            &routing(),
            &signed(event, &damaged),
        );
        prop_assert!(matches!(answer_status(&admitted), 200 | 202 | 400), "{:?}", admitted);
        if serde_json::from_slice::<serde::de::IgnoredAny>(&damaged).is_err() {
            prop_assert_eq!(answer_status(&admitted), 400);
        }
    }

    #[test]
    fn arbitrary_bytes_are_answered_without_panicking(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        event in prop::sample::select(&["issue_comment", "pull_request", "ping", "push"][..]),
    ) {
        let admitted = admit(
            &WebhookSecrets::new(&[SECRET]).unwrap(),
            &routing(),
            &signed(event, &bytes),
        );
        prop_assert!(matches!(answer_status(&admitted), 200 | 202 | 400), "{:?}", admitted);
        let _ = read_comment(&bytes);
    }
}

#[test]
fn every_truncation_of_the_real_payloads_is_invalid() {
    let comment = COMMENT_FIXTURE.trim_end().as_bytes();
    for cut in 0..comment.len() {
        assert!(
            matches!(read_comment(&comment[..cut]), Err(PayloadError::Json(_))),
            "issue_comment cut at {cut}"
        );
    }
    let pull = PULL_FIXTURE.trim_end().as_bytes();
    for cut in 0..pull.len() {
        assert!(
            matches!(
                webhook::github_event::parse_pull_request(&pull[..cut]),
                Err(PayloadError::Json(_))
            ),
            "pull_request cut at {cut}"
        );
    }
}
