//! Schema migrations: the `migrations/*.sql` files, compiled in and applied in order, each
//! once, recorded in `ohwb_migrations`.
//!
//! Invariant: a migration's file is never edited once released; a change is a new file.

use sqlx::AnyPool;
use sqlx::Row;

/// (version, SQL) in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_shared.sql")),
];

/// Applies every migration the database has not had yet.
pub(super) async fn run(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("CREATE TABLE IF NOT EXISTS ohwb_migrations (version BIGINT PRIMARY KEY)")
        .execute(pool)
        .await?;
    for (version, sql) in MIGRATIONS {
        let done = sqlx::query("SELECT version FROM ohwb_migrations WHERE version = $1")
            .bind(*version)
            .fetch_optional(pool)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .is_some();
        if done {
            continue;
        }
        let mut tx = pool.begin().await?;
        for statement in statements(sql) {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        // Two processes starting together may both get here: the statements are idempotent
        // (`IF NOT EXISTS`), and so is recording the version.
        sqlx::query(
            "INSERT INTO ohwb_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING",
        )
        .bind(*version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The statements of a migration file: comments dropped, split at a `;` that ends a line.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let line = line.split("--").next().unwrap_or_default().trim_end();
        if line.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_string());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_migration_splits_into_its_statements() {
        let s = super::statements(super::MIGRATIONS[0].1);
        assert_eq!(
            s.iter().filter(|s| s.starts_with("CREATE TABLE")).count(),
            5
        );
        assert!(s.iter().all(|s| !s.contains("--") && !s.ends_with(';')));
    }
}
