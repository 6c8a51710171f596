//! MariaDB operations: the sentinel table, schemas, DDL, live schema diffs, bounded statements.

use std::collections::HashMap;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use schemabot_sentinel::SENTINEL_QUERY;
use schemabot_tern::proto;

use super::config::StandinError;
use super::state::Shared;

/// Bound on every statement the stand-in runs against MariaDB, so a test fails instead of hanging.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

impl Shared {
    pub(super) async fn sentinel_exists(&self, database: &str) -> Result<bool, String> {
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            let count: Option<u64> = conn.exec_first(SENTINEL_QUERY, (database,)).await?;
            Ok(count.unwrap_or(0) > 0)
        })
        .await
    }

    pub(super) async fn create_schema(&self, database: &str) -> Result<(), StandinError> {
        let sql = format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(database)?);
        self.execute(&sql).await
    }

    /// What Spirit does on start with defer-cutover.
    pub(super) async fn create_sentinel(&self, database: &str) -> Result<(), StandinError> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {}.`_spirit_sentinel` (id int NOT NULL PRIMARY KEY)",
            quote_ident(database)?
        );
        self.execute(&sql).await
    }

    /// What Tern's Cutover does.
    pub(super) async fn drop_sentinel(&self, database: &str) -> Result<(), StandinError> {
        let sql = format!(
            "DROP TABLE IF EXISTS {}.`_spirit_sentinel`",
            quote_ident(database)?
        );
        self.execute(&sql).await
    }

    async fn execute(&self, sql: &str) -> Result<(), StandinError> {
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop(sql).await
        })
        .await
        .map_err(StandinError::Database)
    }

    pub(super) async fn run_ddl(&self, database: &str, ddls: &[String]) -> Result<(), String> {
        let use_schema = format!("USE {}", quote_ident(database).map_err(|e| e.to_string())?);
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop(&use_schema).await?;
            for ddl in ddls.iter().filter(|ddl| !ddl.trim().is_empty()) {
                conn.query_drop(ddl).await?;
            }
            Ok(())
        })
        .await
    }

    /// The live schema of `namespace` as declarative files: `<table>.sql` → `SHOW CREATE TABLE`
    /// (Spirit's sentinel and shadow tables left out), what Tern returns as `original_files`.
    pub(super) async fn live_files(
        &self,
        namespace: &str,
    ) -> Result<HashMap<String, String>, String> {
        let schema = quote_ident(namespace).map_err(|e| e.to_string())?;
        bounded(async {
            let mut conn = self.pool.get_conn().await?;
            let tables: Vec<String> = conn
                .exec(
                    "SELECT table_name FROM information_schema.tables \
                     WHERE table_schema = ? AND table_type = 'BASE TABLE'",
                    (namespace,),
                )
                .await?;
            let mut files = HashMap::new();
            for table in tables.into_iter().filter(|t| !t.starts_with('_')) {
                let show = format!("SHOW CREATE TABLE {schema}.`{}`", table.replace('`', "``"));
                if let Some((_, create)) = conn.query_first::<(String, String), _>(show).await? {
                    files.insert(format!("{table}.sql"), create);
                }
            }
            Ok(files)
        })
        .await
    }

    pub(super) async fn plan_namespace(
        &self,
        namespace: &str,
        files: &HashMap<String, String>,
    ) -> Result<Vec<proto::TableChange>, String> {
        use crate::schema_diff::{diff_table, parse_create_table, statements, TableDiff};
        let schema = quote_ident(namespace).map_err(|e| e.to_string())?;
        let mut names: Vec<_> = files.keys().filter(|n| n.ends_with(".sql")).collect();
        names.sort();
        let mut changes = Vec::new();
        for name in names {
            for statement in statements(&files[name]) {
                let Some(desired) = parse_create_table(&statement) else {
                    return Err(format!(
                        "{name}: only CREATE TABLE statements are supported"
                    ));
                };
                let table = quote_ident(&desired.name).map_err(|e| e.to_string())?;
                let show = format!("SHOW CREATE TABLE {schema}.{table}");
                let live_sql: Option<String> = bounded(async {
                    let mut conn = self.pool.get_conn().await?;
                    match conn.query_first::<(String, String), _>(&show).await {
                        Ok(row) => Ok(row.map(|(_, create)| create)),
                        // 1146: no such table; 1049: no such schema.
                        Err(mysql_async::Error::Server(e)) if e.code == 1146 || e.code == 1049 => {
                            Ok(None)
                        }
                        Err(other) => Err(other),
                    }
                })
                .await?;
                let live = live_sql.as_deref().and_then(parse_create_table);
                let change = match diff_table(&statement, &desired, live.as_ref()) {
                    None => continue,
                    Some(TableDiff::Create { ddl }) => proto::TableChange {
                        table_name: desired.name.clone(),
                        ddl,
                        change_type: proto::ChangeType::Create as i32,
                        namespace: namespace.to_string(),
                        is_unsafe: false,
                        unsafe_reason: String::new(),
                    },
                    Some(TableDiff::Alter { ddl, unsafe_reason }) => proto::TableChange {
                        table_name: desired.name.clone(),
                        ddl,
                        change_type: proto::ChangeType::Alter as i32,
                        namespace: namespace.to_string(),
                        is_unsafe: unsafe_reason.is_some(),
                        unsafe_reason: unsafe_reason.unwrap_or_default(),
                    },
                };
                changes.push(change);
            }
        }
        Ok(changes)
    }
}

/// Backtick-quotes a schema name for SQL (the sentinel DDL cannot take a bound parameter).
pub(super) fn quote_ident(name: &str) -> Result<String, StandinError> {
    if name.is_empty() || name.chars().count() > 64 || name.contains('\0') {
        return Err(StandinError::InvalidIdentifier(name.to_string()));
    }
    Ok(format!("`{}`", name.replace('`', "``")))
}

/// Runs a database operation under [`DATABASE_TIMEOUT`], describing failures without the DSN.
pub(super) async fn bounded<T>(
    operation: impl std::future::Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(DATABASE_TIMEOUT, operation).await {
        Err(_) => Err(format!(
            "no answer from MariaDB within {DATABASE_TIMEOUT:?}"
        )),
        Ok(result) => result.map_err(|e| describe_db_error(&e)),
    }
}

pub(super) fn describe_db_error(error: &mysql_async::Error) -> String {
    use mysql_async::Error;
    match error {
        Error::Server(server) => format!(
            "ERROR {} ({}): {}",
            server.code, server.state, server.message
        ),
        Error::Io(io) => format!("i/o error: {io}"),
        Error::Driver(driver) => format!("driver error: {driver}"),
        // These can quote the connection URL.
        Error::Url(_) => "invalid connection URL".to_string(),
        Error::Other(_) => "unexpected driver error".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_safely() {
        assert_eq!(quote_ident("app").unwrap(), "`app`");
        assert_eq!(quote_ident("a`b").unwrap(), "`a``b`");
        assert!(quote_ident("").is_err());
        assert!(quote_ident(&"x".repeat(65)).is_err());
    }
}
