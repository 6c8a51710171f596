//! Repository permission levels, ordered so a minimum can be checked with `>=`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's permission on a repository, weakest first. `None` also stands for "not a
/// collaborator" and for anything GitHub reports that we do not recognise (fail closed).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    #[default]
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    /// Parses GitHub's names (`admin`, `maintain`, `write`, `triage`, `read`, `none`) and the older
    /// aliases `pull`/`push`. Returns `None` for anything else (e.g. a custom role name).
    pub fn parse(raw: &str) -> Option<Permission> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Permission::Admin),
            "maintain" => Some(Permission::Maintain),
            "write" | "push" => Some(Permission::Write),
            "triage" => Some(Permission::Triage),
            "read" | "pull" => Some(Permission::Read),
            "none" => Some(Permission::None),
            _ => None,
        }
    }

    /// The effective permission from the collaborator-permission response: `role_name` is exact
    /// (it distinguishes maintain and triage) but may be a custom role's name; then the coarse
    /// legacy `permission` field (admin/write/read/none) decides.
    pub fn from_response(role_name: Option<&str>, permission: Option<&str>) -> Permission {
        role_name
            .and_then(Permission::parse)
            .or_else(|| permission.and_then(Permission::parse))
            .unwrap_or(Permission::None)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        }
    }

    /// Whether this permission meets `minimum` (e.g. `write`, or `maintain` for production).
    pub fn at_least(self, minimum: Permission) -> bool {
        self >= minimum
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Refusal to parse a permission name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a GitHub permission (admin, maintain, write, triage, read, none)")]
pub struct UnknownPermission(pub String);

impl std::str::FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::parse(s).ok_or_else(|| UnknownPermission(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_matches_github_hierarchy() {
        use Permission::*;
        let ascending = [None, Read, Triage, Write, Maintain, Admin];
        for pair in ascending.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        assert!(Maintain.at_least(Write));
        assert!(!Triage.at_least(Write));
    }

    #[test]
    fn parses_names_case_insensitively_and_round_trips() {
        for p in [
            Permission::None,
            Permission::Read,
            Permission::Triage,
            Permission::Write,
            Permission::Maintain,
            Permission::Admin,
        ] {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
        }
        assert_eq!(Permission::parse("ADMIN"), Some(Permission::Admin));
        assert_eq!(Permission::parse("push"), Some(Permission::Write));
        assert!("owner".parse::<Permission>().is_err());
    }

    #[test]
    fn role_name_wins_and_custom_roles_fall_back_to_permission() {
        assert_eq!(
            Permission::from_response(Some("maintain"), Some("write")),
            Permission::Maintain
        );
        assert_eq!(
            Permission::from_response(Some("triage"), Some("read")),
            Permission::Triage
        );
        assert_eq!(
            Permission::from_response(Some("release-manager"), Some("write")),
            Permission::Write
        );
        assert_eq!(
            Permission::from_response(None, Some("admin")),
            Permission::Admin
        );
        assert_eq!(
            Permission::from_response(Some("owner"), None),
            Permission::None
        );
        assert_eq!(Permission::from_response(None, None), Permission::None);
    }
}
