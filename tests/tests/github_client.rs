//! The GitHub App client (`schemabot-github`) against the in-process GitHub stand-in: token
//! caching, comment operations, the retry layer, permissions, and lost responses.

use schemabot_domain::{CommentId, InstallationId, Login, PrNumber, Repository};
use schemabot_github::{
    GithubClient, GithubError, InstallationClient, Permission, Reaction, RequestKind, RetryPolicy,
};
use schemabot_tests::github_standin::{CallKind, Credential, GithubStandin, TEST_APP_ID};
use std::time::{Duration, Instant};

const INSTALLATION: InstallationId = InstallationId(77);
const PR: PrNumber = PrNumber(12);

/// The hidden marker SchemaBot's comments carry (the render crate writes it the same way).
fn hidden_marker(key: &str) -> String {
    format!("<!-- schemabot:{key} -->")
}

fn repo() -> Repository {
    Repository::parse("octo/widgets").unwrap()
}

/// Quick retries so failure tests stay fast; waits the server asks for up to 2 s are honoured.
fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        max_wait: Duration::from_secs(2),
        base_backoff: Duration::from_millis(10),
    }
}

async fn setup_with(policy: RetryPolicy) -> (GithubStandin, GithubClient, InstallationClient) {
    let standin = GithubStandin::start().await.unwrap();
    let client = GithubClient::with_retry_policy(&standin.app_config(), policy).unwrap();
    let installation = client.installation(INSTALLATION);
    (standin, client, installation)
}

async fn setup() -> (GithubStandin, GithubClient, InstallationClient) {
    setup_with(fast_policy()).await
}

#[tokio::test]
async fn installation_token_is_fetched_once_and_reused() {
    let (standin, client, gh) = setup().await;
    let command = standin.seed_comment(
        &repo(),
        PR,
        "alice",
        "schemabot cutover apply-ab -e staging",
    );

    gh.add_reaction(&repo(), command, Reaction::Eyes)
        .await
        .unwrap();
    gh.create_comment(&repo(), PR, "hello").await.unwrap();
    // A clone (as a warm Lambda invocation would hold) shares the cache.
    client
        .clone()
        .installation(INSTALLATION)
        .create_comment(&repo(), PR, "again")
        .await
        .unwrap();

    assert_eq!(standin.count(CallKind::AccessToken), 1);
    assert_eq!(client.stats().count(RequestKind::AccessToken), 1);

    let calls = standin.calls();
    assert_eq!(calls[0].kind, CallKind::AccessToken);
    assert_eq!(
        calls[0].credential,
        Credential::AppJwt {
            app_id: TEST_APP_ID
        }
    );
    assert_eq!(calls[0].path, "/app/installations/77/access_tokens");
    let tokens: Vec<_> = calls[1..]
        .iter()
        .map(|c| c.credential.installation_token().map(str::to_string))
        .collect();
    assert!(
        tokens.iter().all(|t| t.is_some() && *t == tokens[0]),
        "{tokens:?}"
    );
    assert!(client.cached_token_expiry(INSTALLATION).await.is_some());
}

#[tokio::test]
async fn concurrent_first_requests_share_one_token_request() {
    let (standin, _client, gh) = setup().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let gh = gh.clone();
        tasks.push(tokio::spawn(async move {
            gh.create_comment(&repo(), PR, &format!("comment {i}"))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(standin.count(CallKind::AccessToken), 1);
    assert_eq!(standin.comments(&repo(), PR).len(), 8);
}

#[tokio::test]
async fn tokens_close_to_expiry_are_refreshed_and_installations_are_separate() {
    let (standin, client, gh) = setup().await;
    // Inside the 5-minute refresh margin: never reused.
    standin.set_token_ttl(Duration::from_secs(4 * 60));
    gh.create_comment(&repo(), PR, "one").await.unwrap();
    gh.create_comment(&repo(), PR, "two").await.unwrap();
    assert_eq!(standin.count(CallKind::AccessToken), 2);

    standin.set_token_ttl(Duration::from_secs(3600));
    let other = client.installation(InstallationId(78));
    other.create_comment(&repo(), PR, "three").await.unwrap();
    other.create_comment(&repo(), PR, "four").await.unwrap();
    assert_eq!(standin.count(CallKind::AccessToken), 3);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let (standin, client, gh) = setup().await;
    gh.create_comment(&repo(), PR, "before").await.unwrap();
    standin.revoke_tokens();
    gh.create_comment(&repo(), PR, "after").await.unwrap();

    assert_eq!(standin.count(CallKind::AccessToken), 2);
    let refused: Vec<_> = standin
        .calls()
        .into_iter()
        .filter(|c| c.status == 401)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(standin.comments(&repo(), PR).len(), 2);
    assert_eq!(client.stats().retries(), 1);
}

#[tokio::test]
async fn comments_are_created_edited_listed_and_found_by_marker() {
    let (standin, client, gh) = setup().await;
    let marker = hidden_marker("cutover:octo/widgets:4711");
    // A person quoting the marker must not be mistaken for SchemaBot's comment.
    standin.seed_comment(&repo(), PR, "mallory", &format!("look {marker}"));

    let first = gh.create_comment(&repo(), PR, "progress").await.unwrap();
    let marked = gh
        .create_comment(&repo(), PR, &format!("## Cutover Triggered\n{marker}"))
        .await
        .unwrap();
    gh.update_comment(&repo(), first, "progress, edited")
        .await
        .unwrap();

    let stored = standin.comment(first).unwrap();
    assert_eq!(stored.body, "progress, edited");
    assert_eq!(stored.edits, 1);

    let listed = gh.list_comments(&repo(), PR).await.unwrap();
    let bodies: Vec<_> = listed.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(
        bodies[1..],
        [
            "progress, edited",
            &format!("## Cutover Triggered\n{marker}")
        ]
    );
    assert!(!listed[0].author_is_bot);
    assert!(listed[1].author_is_bot);
    assert_eq!(listed[1].via_app_id, Some(TEST_APP_ID));
    assert_eq!(listed[1].author, Login("schemabot[bot]".into()));

    assert_eq!(
        gh.find_comment_with_marker(&repo(), PR, &marker)
            .await
            .unwrap(),
        Some(marked)
    );
    assert_eq!(
        gh.find_comment_with_marker(&repo(), PR, &hidden_marker("other"))
            .await
            .unwrap(),
        None
    );
    // Each operation is one request (the PR fits in one page).
    let counts = client.stats().snapshot();
    assert_eq!(counts.create_comment, 2);
    assert_eq!(counts.update_comment, 1);
    assert_eq!(counts.list_comments, 3);
}

#[tokio::test]
async fn listing_follows_pagination() {
    let (standin, _client, gh) = setup().await;
    for i in 0..130 {
        standin.seed_comment(&repo(), PR, "alice", &format!("chatter {i}"));
    }
    let marker = hidden_marker("summary:apply-ab");
    let marked = gh
        .create_comment(&repo(), PR, &format!("summary {marker}"))
        .await
        .unwrap();

    let all = gh.list_comments(&repo(), PR).await.unwrap();
    assert_eq!(all.len(), 131);
    assert_eq!(all[0].body, "chatter 0");
    assert_eq!(standin.count(CallKind::ListComments), 2);
    let pages: Vec<_> = standin
        .calls()
        .into_iter()
        .filter(|c| c.kind == CallKind::ListComments)
        .map(|c| c.path)
        .collect();
    assert!(pages[1].ends_with("per_page=100&page=2"), "{pages:?}");

    assert_eq!(
        gh.find_comment_with_marker(&repo(), PR, &marker)
            .await
            .unwrap(),
        Some(marked)
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_post_once() {
    let (standin, client, gh) = setup().await;
    standin.fail_next_on(CallKind::CreateComment, 2, 502);

    let id = gh.create_comment(&repo(), PR, "made it").await.unwrap();

    let comments = standin.comments(&repo(), PR);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, id);
    assert_eq!(standin.count(CallKind::CreateComment), 3);
    assert_eq!(client.stats().count(RequestKind::CreateComment), 3);
    assert_eq!(client.stats().retries(), 2);
}

#[tokio::test]
async fn retries_are_bounded_and_errors_carry_no_token() {
    let (standin, _client, gh) = setup().await;
    standin.fail_next_on(CallKind::CreateComment, 10, 503);

    let error = gh.create_comment(&repo(), PR, "never").await.unwrap_err();
    assert!(error.is_transient());
    assert_eq!(error.status(), Some(503));
    assert_eq!(
        standin.count(CallKind::CreateComment),
        4,
        "1 attempt + 3 retries"
    );
    assert!(standin.comments(&repo(), PR).is_empty());
    let text = format!("{error} {error:?}");
    assert!(!text.contains("ghs_"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test]
async fn client_errors_fail_at_once() {
    let (standin, _client, gh) = setup().await;
    let error = gh
        .update_comment(&repo(), CommentId(999), "no such comment")
        .await
        .unwrap_err();
    assert!(
        matches!(error, GithubError::Status { status: 404, .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_eq!(standin.count(CallKind::UpdateComment), 1);

    // A token failure surfaces as the token request's error.
    let (standin, _client, gh) = setup().await;
    standin.fail_next_on(CallKind::AccessToken, 1, 422);
    let error = gh.create_comment(&repo(), PR, "x").await.unwrap_err();
    assert_eq!(error.operation(), Some(RequestKind::AccessToken));
    assert_eq!(standin.count(CallKind::CreateComment), 0);
}

#[tokio::test]
async fn secondary_rate_limit_waits_for_retry_after() {
    let (standin, client, gh) = setup().await;
    gh.create_comment(&repo(), PR, "warm the token")
        .await
        .unwrap();
    standin.rate_limit_next_on(CallKind::CreateComment, 1, 1);

    let started = Instant::now();
    gh.create_comment(&repo(), PR, "after the limit")
        .await
        .unwrap();
    let waited = started.elapsed();

    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    assert_eq!(standin.comments(&repo(), PR).len(), 2);
    let limited: Vec<_> = standin
        .calls()
        .into_iter()
        .filter(|c| c.status == 403)
        .collect();
    assert_eq!(limited.len(), 1);
    assert_eq!(client.stats().retries(), 1);
}

#[tokio::test]
async fn primary_rate_limit_waits_for_the_reset() {
    let (standin, _client, gh) = setup().await;
    gh.create_comment(&repo(), PR, "warm the token")
        .await
        .unwrap();
    standin.primary_rate_limit_next(1, 0);

    let started = Instant::now();
    gh.create_comment(&repo(), PR, "after the reset")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(standin.comments(&repo(), PR).len(), 2);
}

#[tokio::test]
async fn a_wait_longer_than_the_cap_fails_fast_with_retry_after() {
    let (standin, _client, gh) = setup().await;
    gh.create_comment(&repo(), PR, "warm the token")
        .await
        .unwrap();
    standin.rate_limit_next(1, 120);

    let started = Instant::now();
    let error = gh
        .create_comment(&repo(), PR, "too soon")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(error.is_transient());
    assert_eq!(error.status(), Some(403));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(standin.comments(&repo(), PR).len(), 1);
}

#[tokio::test]
async fn collaborator_permissions_map_to_levels() {
    let (standin, _client, gh) = setup().await;
    for level in ["admin", "maintain", "write", "triage", "read", "none"] {
        standin.set_permission(&format!("user-{level}"), level);
    }
    standin.set_permission_fields("custom", "write", Some("release-manager"));
    standin.set_permission_fields("legacy", "admin", None);
    standin.set_permission("dependabot[bot]", "write");

    let permission = |login: &str| {
        let gh = gh.clone();
        let login = Login(login.to_string());
        async move { gh.collaborator_permission(&repo(), &login).await.unwrap() }
    };
    assert_eq!(permission("user-admin").await, Permission::Admin);
    assert_eq!(permission("user-maintain").await, Permission::Maintain);
    assert_eq!(permission("user-write").await, Permission::Write);
    assert_eq!(permission("user-triage").await, Permission::Triage);
    assert_eq!(permission("user-read").await, Permission::Read);
    assert_eq!(permission("user-none").await, Permission::None);
    assert_eq!(permission("custom").await, Permission::Write);
    assert_eq!(permission("legacy").await, Permission::Admin);
    assert_eq!(permission("dependabot[bot]").await, Permission::Write);
    // Not a collaborator: 404 means no permission, not an error.
    assert_eq!(permission("stranger").await, Permission::None);
    assert!(permission("user-maintain")
        .await
        .at_least(Permission::Write));
    assert!(!permission("user-triage").await.at_least(Permission::Write));

    // When GitHub cannot answer, the caller gets an error (and fails closed), not `None`.
    standin.fail_next_on(CallKind::CollaboratorPermission, 4, 500);
    let error = gh
        .collaborator_permission(&repo(), &Login("user-admin".into()))
        .await
        .unwrap_err();
    assert!(error.is_transient());
}

#[tokio::test]
async fn reactions_are_idempotent() {
    let (standin, _client, gh) = setup().await;
    let command = standin.seed_comment(&repo(), PR, "alice", "schemabot help");
    gh.add_reaction(&repo(), command, Reaction::Eyes)
        .await
        .unwrap();
    gh.add_reaction(&repo(), command, Reaction::Eyes)
        .await
        .unwrap();
    let reactions = standin.reactions(command);
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].content, "eyes");

    let error = gh
        .add_reaction(&repo(), CommentId(123), Reaction::Eyes)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn lost_response_is_recovered_by_the_marker_search() {
    // The worker's view: its create failed, so before posting again it looks for the marker.
    let (standin, _client, gh) = setup_with(RetryPolicy::no_retries()).await;
    let marker = hidden_marker("cutover:octo/widgets:1001");
    standin.lose_next_response(1);

    let error = gh
        .create_comment(&repo(), PR, &format!("Cutover Triggered {marker}"))
        .await
        .unwrap_err();
    assert!(error.is_transient());
    assert_eq!(error.status(), Some(502));

    let stored = standin.comments(&repo(), PR);
    assert_eq!(stored.len(), 1, "GitHub did create it");
    assert_eq!(
        gh.find_comment_with_marker(&repo(), PR, &marker)
            .await
            .unwrap(),
        Some(stored[0].id)
    );
}

#[tokio::test]
async fn create_marked_comment_posts_exactly_once_despite_a_lost_response() {
    let (standin, _client, gh) = setup().await;
    let marker = hidden_marker("summary:apply-cafe");
    standin.lose_next_response(1);

    let id = gh
        .create_marked_comment(&repo(), PR, &marker, &format!("Applied {marker}"))
        .await
        .unwrap();

    let stored = standin.comments(&repo(), PR);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(standin.count(CallKind::CreateComment), 1);
    assert_eq!(standin.count(CallKind::ListComments), 1);

    // Without a trace of the comment, it posts again.
    standin.fail_next_on(CallKind::CreateComment, 1, 502);
    let other = hidden_marker("summary:apply-beef");
    gh.create_marked_comment(&repo(), PR, &other, &format!("Applied {other}"))
        .await
        .unwrap();
    assert_eq!(standin.comments(&repo(), PR).len(), 2);

    let refused = gh
        .create_marked_comment(&repo(), PR, &other, "body without its marker")
        .await
        .unwrap_err();
    assert!(matches!(refused, GithubError::InvalidArgument(_)));
}

#[tokio::test]
async fn plain_create_retried_after_a_lost_response_duplicates() {
    // Documents the hazard `create_comment` warns about, and why markers exist.
    let (standin, _client, gh) = setup().await;
    standin.lose_next_response(1);
    gh.create_comment(&repo(), PR, "twice").await.unwrap();
    assert_eq!(standin.comments(&repo(), PR).len(), 2);
}

#[tokio::test]
async fn the_cutover_happy_path_fits_the_request_budget() {
    // 👀 + permission + Cutover Triggered, from a cold client: ≤ 4 requests with the token.
    let (standin, client, gh) = setup().await;
    standin.set_permission("alice", "write");
    let command = standin.seed_comment(
        &repo(),
        PR,
        "alice",
        "schemabot cutover apply-ab -e staging",
    );

    gh.add_reaction(&repo(), command, Reaction::Eyes)
        .await
        .unwrap();
    let permission = gh
        .collaborator_permission(&repo(), &Login("alice".into()))
        .await
        .unwrap();
    assert!(permission.at_least(Permission::Write));
    gh.create_comment(
        &repo(),
        PR,
        &format!("## Cutover Triggered {}", hidden_marker("c")),
    )
    .await
    .unwrap();

    assert_eq!(client.stats().total(), 4);
    assert_eq!(standin.total_calls(), 4);
    assert_eq!(client.stats().retries(), 0);
}

#[tokio::test]
async fn unreachable_github_is_a_bounded_transient_transport_error() {
    let standin = GithubStandin::start().await.unwrap();
    let config = standin.app_config();
    standin.shutdown().await;
    let client = GithubClient::with_retry_policy(&config, fast_policy()).unwrap();

    let error = client
        .installation(INSTALLATION)
        .create_comment(&repo(), PR, "x")
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            GithubError::Transport {
                operation: RequestKind::AccessToken,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(client.stats().count(RequestKind::AccessToken), 4);
    assert_eq!(client.stats().count(RequestKind::CreateComment), 0);
}

#[tokio::test]
async fn reviews_are_listed_across_pages_with_the_pr_author_and_base() {
    let (standin, client, gh) = setup().await;
    standin.seed_pull_request(&repo(), PR, "abc123", &[("schema/a.sql", "renamed")]);
    standin.set_pull_author(&repo(), PR, "carol");
    standin.set_pull_base(&repo(), PR, "release");
    let reviews: Vec<(String, &str, &str)> = (0..130)
        .map(|i| (format!("reviewer-{i}"), "COMMENTED", "abc123"))
        .collect();
    let as_refs: Vec<(&str, &str, &str)> = reviews
        .iter()
        .map(|(login, state, commit)| (login.as_str(), *state, *commit))
        .collect();
    standin.set_reviews(&repo(), PR, &as_refs);
    standin.add_review(&repo(), PR, "bob", "APPROVED", "abc123");

    let pull = gh.get_pull_request(&repo(), PR).await.unwrap();
    assert_eq!(pull.author, Some(Login("carol".into())));
    assert_eq!(pull.base_ref, "release");
    let listed = gh.list_pull_request_reviews(&repo(), PR).await.unwrap();
    assert_eq!(listed.len(), 131);
    assert_eq!(standin.count(CallKind::ListReviews), 2, "100 per page");
    let last = listed.last().unwrap();
    assert_eq!(last.reviewer, Some(Login("bob".into())));
    assert_eq!(last.state, "APPROVED");
    assert_eq!(last.commit_id.as_deref(), Some("abc123"));
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    assert_eq!(client.stats().count(RequestKind::ListReviews), 2);
}
