//! Response shaping shared by the endpoints: answers, user objects, timestamps, URL escaping.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

const DOCS: &str = "https://docs.github.com/rest";

/// A response before it becomes an axum one.
pub(super) struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub fn message(status: u16, message: &str) -> Answer {
        Answer::json(
            status,
            json!({ "message": message, "documentation_url": DOCS, "status": status.to_string() }),
        )
    }
}

/// A user object with every field octocrab's `Author` model requires.
pub(super) fn user_json(base: &str, login: &str, is_bot: bool) -> Value {
    let escaped = percent_encode(login);
    let api = format!("{base}/users/{escaped}");
    json!({
        "login": login,
        "id": stable_id(login),
        "node_id": format!("U_standin{}", stable_id(login)),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", stable_id(login)),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("https://github.com/{escaped}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": if is_bot { "Bot" } else { "User" },
        "site_admin": false,
    })
}

/// The `body` string of a comment request.
pub(super) fn body_text(body: Option<&Value>) -> Option<String> {
    body?.get("body")?.as_str().map(str::to_string)
}

/// The raw value of query parameter `name`, if present.
pub(super) fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A numeric query parameter (`per_page`, `page`); `None` if absent or not a number.
pub(super) fn query_number(query: &str, name: &str) -> Option<usize> {
    query_value(query, name).and_then(|value| value.parse::<usize>().ok())
}

pub(super) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A deterministic positive id per login (FNV-1a), so the same user keeps the same id.
fn stable_id(login: &str) -> u64 {
    let hash = login.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % 100_000_000 + 1
}

fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
