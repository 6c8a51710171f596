//! CODEOWNERS: which owners a path has, with GitHub's rules.
//!
//! * GitHub reads the first of [`CODEOWNERS_PATHS`] that exists; the caller reads it from the
//!   PR's **base** branch, so a PR cannot name its own owners.
//! * One rule per line: a pattern, then owners (`@user`, `@org/team`, `user@example.com`).
//!   `#` starts a comment. The **last** matching rule wins; a rule without owners leaves the
//!   path unowned.
//! * Patterns follow gitignore, as GitHub documents them: a pattern without a `/` (other than a
//!   trailing one) matches at any depth, one with a leading or inner `/` is relative to the
//!   repository root, a trailing `/` matches a directory and everything below it, a pattern
//!   naming a directory covers everything below it, except that a last segment with a wildcard
//!   (`docs/*`) matches direct children only. Matching is case-sensitive.
//! * GitHub skips lines it cannot read (negation `!`, character ranges `[ ]`, backslash
//!   escapes, owners that are not users, teams or e-mails); so does this parser, and it counts
//!   them for the log.
//!
//! Globs are matched with `globset` (each pattern is translated to one or two globs whose `*`
//! and `?` never cross a `/`).

use crate::ids::Login;
use globset::{GlobBuilder, GlobMatcher};
use std::fmt;

/// Where GitHub looks for the file, in order; the first one present is used.
pub const CODEOWNERS_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// An owner named by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `@login`.
    User(Login),
    /// `@org/team-slug`, kept as written (without the `@`).
    Team(String),
    /// `someone@example.com`.
    Email(String),
}

impl Owner {
    fn parse(token: &str) -> Option<Owner> {
        if let Some(name) = token.strip_prefix('@') {
            let valid = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            return match name.split_once('/') {
                Some((org, team)) if valid(org) && valid(team) => Some(Owner::Team(name.into())),
                None if valid(name) => Some(Owner::User(Login(name.to_string()))),
                _ => None,
            };
        }
        match token.split_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
                Some(Owner::Email(token.to_string()))
            }
            _ => None,
        }
    }

    /// The user this owner is, if it is one.
    pub fn user(&self) -> Option<&Login> {
        match self {
            Owner::User(login) => Some(login),
            Owner::Team(_) | Owner::Email(_) => None,
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::User(login) => write!(f, "@{login}"),
            Owner::Team(team) => write!(f, "@{team}"),
            Owner::Email(email) => f.write_str(email),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    matchers: Vec<GlobMatcher>,
    owners: Vec<Owner>,
}

impl Rule {
    fn matches(&self, path: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(path))
    }
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone, Default)]
pub struct CodeOwners {
    rules: Vec<Rule>,
    /// 1-based numbers of the lines that were skipped as unreadable.
    pub skipped_lines: Vec<usize>,
}

impl CodeOwners {
    pub fn parse(text: &str) -> CodeOwners {
        let mut parsed = CodeOwners::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_rule(line) {
                Some(rule) => parsed.rules.push(rule),
                None => parsed.skipped_lines.push(index + 1),
            }
        }
        parsed
    }

    /// The owners of `path` (repository-relative, no leading `/`): those of the last rule that
    /// matches. `None` when no rule matches; `Some(&[])` when the last match names no owner.
    pub fn owners_of(&self, path: &str) -> Option<&[Owner]> {
        let path = path.trim_start_matches('/');
        self.rules
            .iter()
            .rev()
            .find(|rule| rule.matches(path))
            .map(|rule| rule.owners.as_slice())
    }
}

fn parse_rule(line: &str) -> Option<Rule> {
    let mut tokens = line.split_whitespace();
    let pattern = tokens.next()?;
    let mut owners = Vec::new();
    for token in tokens {
        if token.starts_with('#') {
            break;
        }
        owners.push(Owner::parse(token)?);
    }
    let matchers = pattern_globs(pattern)?
        .iter()
        .map(|glob| {
            GlobBuilder::new(glob)
                .literal_separator(true)
                .backslash_escape(false)
                .build()
                .map(|g| g.compile_matcher())
                .ok()
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Rule { matchers, owners })
}

/// The globs a CODEOWNERS pattern stands for; `None` for syntax GitHub does not accept.
fn pattern_globs(pattern: &str) -> Option<Vec<String>> {
    if pattern.starts_with('!') || pattern.contains(['[', ']', '{', '}', '\\']) {
        return None;
    }
    let dir_only = pattern.ends_with('/');
    let body = pattern.trim_start_matches('/').trim_end_matches('/');
    if body.is_empty() || body.contains("//") {
        return None;
    }
    if body == "**" {
        return Some(vec!["**".into()]);
    }
    let anchored = pattern.starts_with('/') || body.contains('/');
    let base = if anchored {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    let last = body.rsplit('/').next().unwrap_or(body);
    let below = format!("{base}/**");
    Some(if dir_only {
        vec![below]
    } else if last.contains(['*', '?']) {
        vec![base]
    } else {
        vec![base, below]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(file: &CodeOwners, path: &str) -> Option<Vec<String>> {
        file.owners_of(path)
            .map(|o| o.iter().map(ToString::to_string).collect())
    }

    fn one(pattern: &str) -> CodeOwners {
        CodeOwners::parse(&format!("{pattern} @owner"))
    }

    fn matches(pattern: &str, path: &str) -> bool {
        one(pattern).owners_of(path).is_some()
    }

    #[test]
    fn a_star_matches_everything() {
        assert!(matches("*", "README.md"));
        assert!(matches("*", "schema/payments/orders.sql"));
        assert!(matches("**", "schema/payments/orders.sql"));
    }

    #[test]
    fn a_pattern_without_slash_matches_at_any_depth() {
        assert!(matches("*.sql", "orders.sql"));
        assert!(matches("*.sql", "schema/payments/orders.sql"));
        assert!(!matches("*.sql", "schema/payments/orders.sql.bak"));
        assert!(matches("orders.sql", "schema/payments/orders.sql"));
        // A bare name also matches a directory of that name, and so everything below it.
        assert!(matches("payments", "schema/payments/orders.sql"));
        assert!(!matches("payments", "schema/payments-old/orders.sql"));
    }

    #[test]
    fn a_leading_or_inner_slash_anchors_to_the_root() {
        assert!(matches("/schema/payments", "schema/payments/orders.sql"));
        assert!(matches("schema/payments", "schema/payments/orders.sql"));
        assert!(!matches(
            "schema/payments",
            "vendor/schema/payments/orders.sql"
        ));
        assert!(!matches("/orders.sql", "schema/orders.sql"));
        assert!(matches("/orders.sql", "orders.sql"));
    }

    #[test]
    fn a_trailing_slash_covers_a_directory_at_any_depth_or_anchored() {
        assert!(matches("payments/", "schema/payments/orders.sql"));
        assert!(matches("payments/", "payments/a/b/orders.sql"));
        assert!(!matches("payments/", "payments"));
        assert!(matches("/schema/", "schema/payments/orders.sql"));
        assert!(!matches("/schema/", "other/schema/orders.sql"));
    }

    #[test]
    fn a_wildcard_last_segment_matches_direct_children_only() {
        assert!(matches("docs/*", "docs/getting-started.md"));
        assert!(!matches("docs/*", "docs/build-app/troubleshooting.md"));
        assert!(matches("schema/*/orders.sql", "schema/payments/orders.sql"));
        assert!(!matches("schema/*/orders.sql", "schema/a/b/orders.sql"));
        assert!(matches("schema/?ay/*.sql", "schema/pay/x.sql"));
    }

    #[test]
    fn double_star_spans_directories() {
        assert!(matches("**/logs", "build/logs/x.log"));
        assert!(matches("**/logs", "logs/x.log"));
        assert!(matches("schema/**/orders.sql", "schema/orders.sql"));
        assert!(matches("schema/**/orders.sql", "schema/a/b/orders.sql"));
    }

    #[test]
    fn other_consecutive_stars_are_plain_stars() {
        assert!(matches("orders**.sql", "orders_v2.sql"));
        assert!(!matches("/orders**.sql", "a/orders_v2.sql"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!matches("/Schema/", "schema/orders.sql"));
        assert!(!matches("*.SQL", "orders.sql"));
    }

    #[test]
    fn the_last_matching_rule_wins_and_may_unown() {
        let file = CodeOwners::parse(
            "# owners\n* @everyone-team-lead\n/schema/ @acme/dba-team @dana\n/schema/payments/ @pat # payments\n/schema/scratch/\n",
        );
        assert_eq!(
            owners(&file, "README.md"),
            Some(vec!["@everyone-team-lead".into()])
        );
        assert_eq!(
            owners(&file, "schema/orders/items.sql"),
            Some(vec!["@acme/dba-team".into(), "@dana".into()])
        );
        assert_eq!(
            owners(&file, "schema/payments/orders.sql"),
            Some(vec!["@pat".into()])
        );
        assert_eq!(owners(&file, "schema/scratch/t.sql"), Some(vec![]));
        assert!(file.skipped_lines.is_empty());
    }

    #[test]
    fn no_rule_means_no_owner() {
        let file = CodeOwners::parse("/docs/ @writer\n");
        assert_eq!(owners(&file, "schema/orders.sql"), None);
        assert_eq!(CodeOwners::parse("").owners_of("a"), None);
    }

    #[test]
    fn owners_are_users_teams_or_emails() {
        let file = CodeOwners::parse("* @alice @acme/dbas dba@example.com\n");
        let parsed = file.owners_of("x").unwrap();
        assert_eq!(parsed[0], Owner::User(Login("alice".into())));
        assert_eq!(parsed[1], Owner::Team("acme/dbas".into()));
        assert_eq!(parsed[2], Owner::Email("dba@example.com".into()));
        assert_eq!(parsed[0].user(), Some(&Login("alice".into())));
        assert_eq!(parsed[1].user(), None);
    }

    #[test]
    fn unreadable_lines_are_skipped_like_github_does() {
        let file = CodeOwners::parse(
            "* @fallback\n!/schema/ @a\n/schema/[ab]/ @b\n\\#x @c\n/schema/ not-an-owner\n/schema/ @@x\n/a{b,c}/ @d\n",
        );
        assert_eq!(file.skipped_lines, vec![2, 3, 4, 5, 6, 7]);
        assert_eq!(
            owners(&file, "schema/a/orders.sql"),
            Some(vec!["@fallback".into()])
        );
    }

    #[test]
    fn windows_line_endings_and_leading_slashes_in_paths_are_tolerated() {
        let file = CodeOwners::parse("/schema/ @dana\r\n");
        assert_eq!(
            owners(&file, "/schema/orders.sql"),
            Some(vec!["@dana".into()])
        );
    }
}
