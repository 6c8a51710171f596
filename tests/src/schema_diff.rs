//! The Tern stand-in's Plan: a deliberately simple diff of `CREATE TABLE` statements. Enough
//! for tests and the demo: new tables, added columns and indexes, dropped columns (unsafe).

/// One table's definition as far as the diff cares: column and index names with their text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    /// (name, full definition) in declaration order.
    pub columns: Vec<(String, String)>,
    /// (name, full definition) of named (non-primary) keys.
    pub indexes: Vec<(String, String)>,
}

/// The result of comparing a desired table with the live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableDiff {
    Create {
        ddl: String,
    },
    Alter {
        ddl: String,
        unsafe_reason: Option<String>,
    },
}

/// Splits SQL text into statements on `;` outside quotes.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => quote = Some(c),
            None if c == ';' => {
                if !current.trim().is_empty() {
                    out.push(current.trim().to_string());
                }
                current.clear();
                continue;
            }
            None => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

fn unquote(name: &str) -> String {
    name.trim().trim_matches('`').trim_matches('"').to_string()
}

/// Splits the body of a CREATE TABLE on top-level commas.
fn split_top_level(body: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut current = String::new();
    for c in body.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(current.trim().to_string());
                    current.clear();
                    continue;
                }
                _ => {}
            },
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    parts
}

/// First word (possibly backtick-quoted) of `text`, and the rest.
fn first_word(text: &str) -> (String, &str) {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('`') {
        let end = rest.find('`').unwrap_or(rest.len());
        return (rest[..end].to_string(), rest.get(end + 1..).unwrap_or(""));
    }
    let end = text
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(text.len());
    (unquote(&text[..end]), &text[end..])
}

/// Parses a `CREATE TABLE name (…) options` statement; `None` if it is not one.
pub fn parse_create_table(statement: &str) -> Option<TableDef> {
    let upper = statement.to_ascii_uppercase();
    let start = upper.find("CREATE TABLE")?;
    let mut rest = &statement[start + "CREATE TABLE".len()..];
    let trimmed_upper = rest.trim_start().to_ascii_uppercase();
    if trimmed_upper.starts_with("IF NOT EXISTS") {
        let skip = rest.len() - rest.trim_start().len() + "IF NOT EXISTS".len();
        rest = &rest[skip..];
    }
    let (raw_name, after_name) = first_word(rest);
    // `schema`.`table`: keep the table.
    let name = raw_name.rsplit('.').next().unwrap_or(&raw_name).to_string();
    let open = after_name.find('(')?;
    let close = after_name.rfind(')')?;
    let body = &after_name[open + 1..close];
    let mut columns = Vec::new();
    let mut indexes = Vec::new();
    for part in split_top_level(body) {
        let upper = part.to_ascii_uppercase();
        let key_kind = [
            "UNIQUE KEY",
            "UNIQUE INDEX",
            "UNIQUE",
            "KEY",
            "INDEX",
            "FULLTEXT KEY",
            "FULLTEXT INDEX",
            "FULLTEXT",
        ]
        .iter()
        .find(|k| upper.starts_with(*k));
        if let Some(kind) = key_kind {
            let (index_name, _) = first_word(&part[kind.len()..]);
            indexes.push((index_name, part.clone()));
        } else if upper.starts_with("PRIMARY KEY")
            || upper.starts_with("CONSTRAINT")
            || upper.starts_with("FOREIGN KEY")
            || upper.starts_with("CHECK")
        {
            continue;
        } else {
            let (column, _) = first_word(&part);
            columns.push((column, part.clone()));
        }
    }
    Some(TableDef {
        name,
        columns,
        indexes,
    })
}

fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Compares the desired CREATE TABLE with the live one (`None` = the table does not exist).
/// `None` when nothing the diff understands changed.
pub fn diff_table(
    desired_sql: &str,
    desired: &TableDef,
    live: Option<&TableDef>,
) -> Option<TableDiff> {
    let Some(live) = live else {
        return Some(TableDiff::Create {
            ddl: desired_sql.trim().trim_end_matches(';').to_string(),
        });
    };
    let mut clauses = Vec::new();
    let mut dropped = Vec::new();
    for (name, definition) in &desired.columns {
        if !live.columns.iter().any(|(n, _)| same_name(n, name)) {
            clauses.push(format!("ADD COLUMN {definition}"));
        }
    }
    for (name, _) in &live.columns {
        if !desired.columns.iter().any(|(n, _)| same_name(n, name)) {
            clauses.push(format!("DROP COLUMN `{name}`"));
            dropped.push(name.clone());
        }
    }
    for (name, definition) in &desired.indexes {
        if !live.indexes.iter().any(|(n, _)| same_name(n, name)) {
            clauses.push(format!("ADD {definition}"));
        }
    }
    if clauses.is_empty() {
        return None;
    }
    let unsafe_reason = (!dropped.is_empty()).then(|| {
        format!(
            "drops column{} {} and the data in {}",
            if dropped.len() > 1 { "s" } else { "" },
            dropped
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if dropped.len() > 1 { "them" } else { "it" }
        )
    });
    Some(TableDiff::Alter {
        ddl: format!("ALTER TABLE `{}` {}", desired.name, clauses.join(", ")),
        unsafe_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "CREATE TABLE `orders` (\n  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL DEFAULT 'new',\n  `legacy` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

    #[test]
    fn parses_columns_and_indexes() {
        let t = parse_create_table(LIVE).unwrap();
        assert_eq!(t.name, "orders");
        let names: Vec<_> = t.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "status", "legacy"]);
        assert!(t.indexes.is_empty());
    }

    #[test]
    fn added_columns_and_indexes_and_dropped_columns() {
        let desired_sql = "CREATE TABLE orders (\n id bigint NOT NULL AUTO_INCREMENT,\n status varchar(32) NOT NULL DEFAULT 'new',\n note varchar(64) NULL,\n PRIMARY KEY (id),\n KEY idx_status (status)\n);";
        let desired = parse_create_table(desired_sql).unwrap();
        let live = parse_create_table(LIVE).unwrap();
        match diff_table(desired_sql, &desired, Some(&live)).unwrap() {
            TableDiff::Alter { ddl, unsafe_reason } => {
                assert_eq!(ddl, "ALTER TABLE `orders` ADD COLUMN note varchar(64) NULL, DROP COLUMN `legacy`, ADD KEY idx_status (status)");
                assert!(unsafe_reason.unwrap().contains("`legacy`"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(diff_table(LIVE, &live, Some(&live)), None);
        assert!(matches!(
            diff_table(desired_sql, &desired, None),
            Some(TableDiff::Create { .. })
        ));
    }

    #[test]
    fn statements_split_outside_quotes() {
        assert_eq!(
            statements("CREATE TABLE a (x varchar(3) DEFAULT ';');\n\nCREATE TABLE b (y int);\n"),
            [
                "CREATE TABLE a (x varchar(3) DEFAULT ';')",
                "CREATE TABLE b (y int)"
            ]
        );
    }
}
