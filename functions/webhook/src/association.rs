//! Who a pull request's author is to the repository, as GitHub's `author_association` says.

/// A pull request author's relation to the repository, as GitHub's `author_association` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorAssociation {
    Owner,
    Member,
    Collaborator,
    Contributor,
    FirstTimeContributor,
    FirstTimer,
    Mannequin,
    None,
}

impl AuthorAssociation {
    pub const ALL: [AuthorAssociation; 8] = [
        AuthorAssociation::Owner,
        AuthorAssociation::Member,
        AuthorAssociation::Collaborator,
        AuthorAssociation::Contributor,
        AuthorAssociation::FirstTimeContributor,
        AuthorAssociation::FirstTimer,
        AuthorAssociation::Mannequin,
        AuthorAssociation::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthorAssociation::Owner => "OWNER",
            AuthorAssociation::Member => "MEMBER",
            AuthorAssociation::Collaborator => "COLLABORATOR",
            AuthorAssociation::Contributor => "CONTRIBUTOR",
            AuthorAssociation::FirstTimeContributor => "FIRST_TIME_CONTRIBUTOR",
            AuthorAssociation::FirstTimer => "FIRST_TIMER",
            AuthorAssociation::Mannequin => "MANNEQUIN",
            AuthorAssociation::None => "NONE",
        }
    }

    /// GitHub's spelling (upper case); the configuration may use any case.
    pub fn parse(raw: &str) -> Option<AuthorAssociation> {
        AuthorAssociation::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(raw))
    }
}
