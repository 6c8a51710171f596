//! How a table's DDL is shown: as stored (SchemaBot has no SQL canonicaliser), trimmed and
//! ending in `;`, and within a size budget so a comment with many or huge statements stays under
//! GitHub's comment size limit (65,536 characters).

/// Longest statement shown in full; longer ones are cut.
const MAX_STATEMENT_CHARS: usize = 4_000;
/// Total DDL characters one comment may carry; tables past it show a note instead.
const MAX_COMMENT_DDL_CHARS: usize = 40_000;

const OMITTED_NOTE: &str = "-- DDL omitted to keep this comment within GitHub's size limit";

/// The statement as displayed: trimmed, ending in exactly the `;` it has or one added, and cut
/// (with an SQL comment saying so) when very long. `None` for an empty statement.
pub(crate) fn display(ddl: &str) -> Option<String> {
    let trimmed = ddl.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.chars().count() > MAX_STATEMENT_CHARS {
        let kept: String = trimmed.chars().take(MAX_STATEMENT_CHARS).collect();
        return Some(format!("{}\n-- … (statement truncated)", kept.trim_end()));
    }
    if trimmed.ends_with(';') {
        Some(trimmed.to_string())
    } else {
        Some(format!("{trimmed};"))
    }
}

/// Hands out DDL for one comment until its character budget is spent.
pub(crate) struct DdlBudget {
    remaining: usize,
}

impl DdlBudget {
    pub(crate) fn for_comment() -> Self {
        DdlBudget {
            remaining: MAX_COMMENT_DDL_CHARS,
        }
    }

    /// The statement to show for `ddl`, or a note once the budget is spent.
    pub(crate) fn take(&mut self, ddl: &str) -> Option<String> {
        let shown = display(ddl)?;
        let cost = shown.chars().count();
        if cost > self.remaining {
            self.remaining = 0;
            return Some(OMITTED_NOTE.to_string());
        }
        self.remaining -= cost;
        Some(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_trimmed_and_terminated() {
        assert_eq!(
            display("  ALTER TABLE t ADD c INT \n"),
            Some("ALTER TABLE t ADD c INT;".into())
        );
        assert_eq!(
            display("ALTER TABLE t ADD c INT;"),
            Some("ALTER TABLE t ADD c INT;".into())
        );
        assert_eq!(display(" \n "), None);
    }

    #[test]
    fn huge_statements_are_cut() {
        let shown = display(&"x".repeat(10_000)).unwrap();
        assert!(shown.ends_with("-- … (statement truncated)"));
        assert!(shown.chars().count() < 4_100);
    }

    #[test]
    fn the_budget_stops_handing_out_ddl() {
        let mut budget = DdlBudget::for_comment();
        let statement = "y".repeat(3_999);
        for _ in 0..10 {
            assert_ne!(budget.take(&statement).as_deref(), Some(OMITTED_NOTE));
        }
        assert_eq!(budget.take(&statement).as_deref(), Some(OMITTED_NOTE));
        assert_eq!(
            budget.take("ALTER TABLE t ADD c INT").as_deref(),
            Some(OMITTED_NOTE)
        );
    }
}
