//! Reading GitHub's payloads: the real examples, duplicate and mistyped fields, borrowed strings.

use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/issue_comment_cutover.json");

#[test]
fn reads_the_fields_of_a_real_payload() {
    let CommentEvent::Created(c) = parse_issue_comment(FIXTURE.as_bytes()).unwrap() else {
        panic!("not a created PR comment");
    };
    assert_eq!(c.repository.as_str(), "acme-payments/schemas");
    assert_eq!(
        (c.pr, c.comment_id, c.installation_id),
        (
            PrNumber(42),
            CommentId(2496111222),
            InstallationId(55667788)
        )
    );
    assert_eq!(c.commenter.0, "alice-dba");
    assert!(c
        .body
        .ends_with("schemabot cutover apply-0123456789abcdef -e staging"));
    assert!(c.body.contains("\r\n"), "the CRLF escapes are decoded");
}

#[test]
fn agrees_with_a_full_json_parse_on_escaped_and_unicode_bodies() {
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let body = "quote \"x\" é 🚀 \u{1}\nschemabot help\t`code` \\ end";
    v["comment"]["body"] = serde_json::json!(body);
    v["comment"]["user"]["login"] = serde_json::json!("zoë");
    let text = v.to_string();
    let CommentEvent::Created(c) = parse_issue_comment(text.as_bytes()).unwrap() else {
        panic!();
    };
    assert_eq!(c.body, body);
    assert_eq!(c.commenter.0, "zoë");
}

#[test]
fn a_null_pull_request_field_means_a_plain_issue() {
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    v["issue"]["pull_request"] = serde_json::Value::Null;
    assert_eq!(
        parse_issue_comment(v.to_string().as_bytes()).unwrap(),
        CommentEvent::Ignored("event ignored (comment on an issue, not a pull request)")
    );
}

#[test]
fn reads_the_fields_of_a_pull_request_event() {
    let payload = serde_json::json!({
        "action": "synchronize",
        "number": 42,
        "before": "0000",
        "pull_request": {
            "number": 42,
            "title": "Add \"status\" index",
            "head": {"ref": "feature", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "repo": {"id": 1}},
            "base": {"ref": "main", "sha": "1111111111111111111111111111111111111111"},
            "labels": [{"name": "db"}]
        },
        "repository": {"id": 1, "full_name": "acme-payments/schemas"},
        "installation": {"id": 55667788},
        "sender": {"login": "alice"}
    })
    .to_string();
    let event = parse_pull_request(payload.as_bytes()).unwrap();
    assert_eq!(event.action, "synchronize");
    assert_eq!(event.pr, PrNumber(42));
    assert_eq!(event.head_sha, "6dcb09b5b57875f334f61aebed695e2e4193db5e");
    assert_eq!(event.repository.as_str(), "acme-payments/schemas");
    assert_eq!(event.installation_id, InstallationId(55667788));
}

#[test]
fn pull_request_events_without_their_fields_are_errors() {
    let base = serde_json::json!({
        "action": "opened",
        "number": 3,
        "pull_request": {"head": {"sha": "abc"}},
        "repository": {"full_name": "acme/schemas"},
        "installation": {"id": 5}
    });
    assert!(parse_pull_request(base.to_string().as_bytes()).is_ok());
    let mut no_installation = base.clone();
    no_installation
        .as_object_mut()
        .unwrap()
        .remove("installation");
    assert_eq!(
        parse_pull_request(no_installation.to_string().as_bytes()),
        Err(PayloadError::MissingInstallation)
    );
    let mut bad_sha = base.clone();
    bad_sha["pull_request"]["head"]["sha"] = serde_json::json!("not a sha");
    assert!(matches!(
        parse_pull_request(bad_sha.to_string().as_bytes()),
        Err(PayloadError::Field(_))
    ));
    assert!(matches!(
        parse_pull_request(b"{oops"),
        Err(PayloadError::Json(_))
    ));
}

const PULL_FIXTURE: &str = include_str!("../../tests/fixtures/pull_request_synchronize.json");

/// `payload` with `member` inserted first in the object opened by the `nth` (0-based)
/// occurrence of `opening` (`"{"` alone is the top level).
fn with_member(payload: &str, opening: &str, nth: usize, member: &str) -> String {
    let (at, _) = payload
        .match_indices(opening)
        .nth(nth)
        .unwrap_or_else(|| panic!("no {opening} #{nth}"));
    let at = at + opening.len();
    format!("{}{member},{}", &payload[..at], &payload[at..])
}

#[test]
fn a_read_field_given_twice_is_an_error() {
    let comment_cases = [
        ("{", 0, r#""action":"created""#),
        ("{", 0, r#""\u0061ction":"deleted""#),
        ("{", 0, r#""installation":{"id":1}"#),
        (r#""issue":{"#, 0, r#""number":7"#),
        (r#""issue":{"#, 0, r#""pull_request":null"#),
        (r#""issue":{"#, 0, r#""state":"open""#),
        (r#""pull_request":{"#, 0, r#""merged_at":null"#),
        (r#""comment":{"#, 0, r#""body":"schemabot help""#),
        (r#""comment":{"#, 0, r#""id":1"#),
        (r#""comment":{"#, 0, r#""user":{"login":"mallory"}"#),
        (r#""user":{"#, 1, r#""login":"mallory""#),
        (r#""user":{"#, 1, r#""type":"User""#),
        (r#""repository":{"#, 0, r#""full_name":"acme/other""#),
        (r#""installation":{"#, 0, r#""id":1"#),
    ];
    for (opening, nth, member) in comment_cases {
        let payload = with_member(FIXTURE, opening, nth, member);
        assert!(
            matches!(parse_issue_comment(payload.as_bytes()), Err(PayloadError::Json(ref e)) if e.contains("duplicate field")),
            "{opening} {member}"
        );
    }
    let pull_cases = [
        ("{", 0, r#""action":"opened""#),
        ("{", 0, r#""number":1"#),
        (r#""head":{"#, 0, r#""sha":"abc""#),
        (r#""head":{"#, 0, r#""repo":null"#),
        (r#""base":{"#, 0, r#""repo":null"#),
        (r#""pull_request":{"#, 0, r#""author_association":"OWNER""#),
        (r#""repository":{"#, 0, r#""full_name":"acme/other""#),
        (r#""installation":{"#, 0, r#""id":1"#),
    ];
    for (opening, nth, member) in pull_cases {
        let payload = with_member(PULL_FIXTURE, opening, nth, member);
        assert!(
            matches!(parse_pull_request(payload.as_bytes()), Err(PayloadError::Json(ref e)) if e.contains("duplicate field")),
            "{opening} {member}"
        );
    }
}

#[test]
fn fields_that_are_not_read_may_repeat() {
    let payload = with_member(FIXTURE, r#""comment":{"#, 0, r#""node_id":"x""#);
    let payload = with_member(&payload, "{", 0, r#""sender":null"#);
    assert!(matches!(
        parse_issue_comment(payload.as_bytes()),
        Ok(CommentEvent::Created(_))
    ));
}

#[test]
fn read_fields_of_the_wrong_type_are_errors_and_null_is_absent() {
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut v = fixture.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        parse_issue_comment(v.to_string().as_bytes()).map(|e| match e {
            CommentEvent::Ignored(why) => why,
            CommentEvent::Created(_) => "created",
        })
    };
    use serde_json::json;
    for (pointer, value) in [
        ("/action", json!(5)),
        ("/issue", json!("x")),
        ("/issue", json!([42, {}])),
        ("/issue/number", json!("42")),
        ("/issue/number", json!(-1)),
        ("/issue/number", json!(4.2)),
        ("/comment/body", json!(["schemabot help"])),
        ("/comment/user", json!([])),
        ("/comment/user/type", json!(true)),
        ("/repository/full_name", json!({})),
        ("/installation/id", json!("55667788")),
    ] {
        assert!(
            matches!(with(pointer, value.clone()), Err(PayloadError::Json(_))),
            "{pointer} = {value}"
        );
    }
    let not_a_creation = Ok("event ignored (not a PR comment creation)");
    assert_eq!(with("/action", json!(null)), not_a_creation);
    assert_eq!(with("/comment/user", json!(null)), not_a_creation);
    assert_eq!(with("/comment/user/type", json!(null)), Ok("created"));
    assert_eq!(
        with("/installation", json!(null)),
        Err(PayloadError::MissingInstallation)
    );
    assert_eq!(
        with("/installation/id", json!(0)),
        Err(PayloadError::MissingInstallation)
    );
}

#[test]
fn strings_without_escapes_are_borrowed_from_the_body() {
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    v["comment"]["body"] = serde_json::json!("schemabot help");
    let text = v.to_string();
    let CommentEvent::Created(c) = parse_issue_comment(text.as_bytes()).unwrap() else {
        panic!();
    };
    assert!(matches!(c.body, Cow::Borrowed("schemabot help")));
    let CommentEvent::Created(c) = parse_issue_comment(FIXTURE.as_bytes()).unwrap() else {
        panic!();
    };
    assert!(
        matches!(c.body, Cow::Owned(_)),
        "the fixture's body has escapes"
    );
}

#[test]
fn malformed_json_is_an_error() {
    assert!(matches!(
        parse_issue_comment(b"{not json"),
        Err(PayloadError::Json(_))
    ));
    for not_an_object in [
        &b"[]"[..],
        b"[null,null,null,null,null]",
        b"null",
        b"\"x\"",
        b"",
    ] {
        assert!(matches!(
            parse_issue_comment(not_an_object),
            Err(PayloadError::Json(_))
        ));
        assert!(matches!(
            parse_pull_request(not_an_object),
            Err(PayloadError::Json(_))
        ));
    }
    let mut not_utf8 = FIXTURE.as_bytes().to_vec();
    let skipped = FIXTURE
        .find("plan reviewed")
        .expect("a word in the issue body");
    not_utf8[skipped] = 0xff;
    assert!(matches!(
        parse_issue_comment(&not_utf8),
        Err(PayloadError::Json(_))
    ));
    let trailing = format!("{FIXTURE} x");
    assert!(matches!(
        parse_issue_comment(trailing.as_bytes()),
        Err(PayloadError::Json(_))
    ));
}

fn state_of(event: Result<CommentEvent<'_>, PayloadError>) -> Result<PrState, PayloadError> {
    match event? {
        CommentEvent::Created(c) => Ok(c.pr_state),
        CommentEvent::Ignored(why) => panic!("ignored: {why}"),
    }
}

/// The pull request state read from the fixture with `pointer` set to `value`.
fn state_with(pointer: &str, value: serde_json::Value) -> Result<PrState, PayloadError> {
    let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    *v.pointer_mut(pointer).unwrap() = value;
    state_of(parse_issue_comment(v.to_string().as_bytes()))
}

#[test]
fn reads_whether_the_pull_request_is_open_closed_or_merged() {
    use serde_json::json;
    assert_eq!(
        state_of(parse_issue_comment(FIXTURE.as_bytes())),
        Ok(PrState::Open)
    );
    assert_eq!(
        state_with("/issue/state", json!("closed")),
        Ok(PrState::Closed)
    );
    let mut merged: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    merged["issue"]["state"] = json!("closed");
    merged["issue"]["pull_request"]["merged_at"] = json!("2026-11-24T07:00:00Z");
    assert_eq!(
        state_of(parse_issue_comment(merged.to_string().as_bytes())),
        Ok(PrState::Merged)
    );
    // A merge time wins: a merged pull request is never taken for an open one.
    assert_eq!(
        state_with(
            "/issue/pull_request/merged_at",
            json!("2026-11-24T07:00:00Z")
        ),
        Ok(PrState::Merged)
    );
    // No state, or one GitHub does not define, is refused rather than taken for open.
    for state in [json!(null), json!("draft"), json!("OPEN")] {
        assert_eq!(
            state_with("/issue/state", state.clone()),
            Err(PayloadError::Field("issue.state")),
            "{state}"
        );
    }
    for (pointer, value) in [
        ("/issue/state", json!(1)),
        ("/issue/pull_request", json!(true)),
        ("/issue/pull_request/merged_at", json!(false)),
    ] {
        assert!(
            matches!(
                state_with(pointer, value.clone()),
                Err(PayloadError::Json(_))
            ),
            "{pointer} = {value}"
        );
    }
}

#[test]
fn reads_where_a_pull_request_comes_from_and_who_opened_it() {
    let event = parse_pull_request(PULL_FIXTURE.as_bytes()).unwrap();
    let schemas = Repository::parse("acme-payments/schemas").ok();
    assert_eq!(event.head_repository, schemas);
    assert_eq!(event.base_repository, schemas);
    assert_eq!(
        event.author_association,
        Some(crate::autoplan::AuthorAssociation::Member)
    );

    let mut fork: serde_json::Value = serde_json::from_str(PULL_FIXTURE).unwrap();
    fork["pull_request"]["head"]["repo"]["full_name"] = serde_json::json!("Mallory/Schemas");
    fork["pull_request"]["author_association"] = serde_json::json!("FIRST_TIME_CONTRIBUTOR");
    let text = fork.to_string();
    let event = parse_pull_request(text.as_bytes()).unwrap();
    assert_eq!(
        event.head_repository,
        Repository::parse("mallory/schemas").ok()
    );
    assert_eq!(
        event.author_association,
        Some(crate::autoplan::AuthorAssociation::FirstTimeContributor)
    );

    // A deleted fork (null head repository) and an association GitHub does not define.
    let mut gone: serde_json::Value = serde_json::from_str(PULL_FIXTURE).unwrap();
    gone["pull_request"]["head"]["repo"] = serde_json::Value::Null;
    gone["pull_request"]["author_association"] = serde_json::json!("ADMIN");
    let text = gone.to_string();
    let event = parse_pull_request(text.as_bytes()).unwrap();
    assert_eq!(event.head_repository, None);
    assert_eq!(event.author_association, None);

    let mut mistyped: serde_json::Value = serde_json::from_str(PULL_FIXTURE).unwrap();
    mistyped["pull_request"]["author_association"] = serde_json::json!(["OWNER"]);
    assert!(matches!(
        parse_pull_request(mistyped.to_string().as_bytes()),
        Err(PayloadError::Json(_))
    ));
}
