//! What several instances share through the database so they behave as one bot: posted
//! resources (as their corpus files) and a generation number that every shared change raises.
//! Each instance polls the generation (`commands/sync.rs`) and catches up when it moves.
//!
//! Invariants:
//! - A change and the generation it raised are written in one transaction, so an instance that
//!   sees the new generation also sees the change.
//! - A removal leaves a tombstone (`removed = 1`), so an instance that missed it still deletes
//!   its copy of the file.

use sqlx::Row;

use super::{Result, Store};

/// A posted resource as stored for the other instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedResource {
    /// Its id (the corpus file name without `.md`).
    pub id: String,
    /// The whole file.
    pub body: String,
    /// Removed: instances delete their copy.
    pub removed: bool,
}

/// Raises the generation inside `tx`; returns the new value.
async fn bump(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> std::result::Result<i64, sqlx::Error> {
    sqlx::query("UPDATE ohwb_generation SET value = value + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    sqlx::query("SELECT value FROM ohwb_generation WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)
}

impl Store {
    /// The current generation.
    pub fn generation(&self) -> Result<i64> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = sqlx::query("SELECT value FROM ohwb_generation WHERE id = 1")
                .fetch_one(&pool)
                .await?;
            Ok(row.try_get(0)?)
        })
    }

    /// Stores (or replaces) a posted resource's file for the other instances; returns the
    /// generation it raised.
    pub fn share_resource(&self, id: &str, body: &str) -> Result<i64> {
        self.change(Some((id.to_string(), Some(body.to_string()))))
    }

    /// Marks a posted resource removed; returns the generation it raised.
    pub fn withdraw_resource(&self, id: &str) -> Result<i64> {
        self.change(Some((id.to_string(), None)))
    }

    /// Asks every instance to reindex; returns the generation it raised.
    pub fn request_reindex(&self) -> Result<i64> {
        self.change(None)
    }

    fn change(&self, resource: Option<(String, Option<String>)>) -> Result<i64> {
        let pool = self.pool.clone();
        self.run(async move {
            let mut tx = pool.begin().await?;
            let generation = bump(&mut tx).await?;
            if let Some((id, body)) = resource {
                let removed = i64::from(body.is_none());
                sqlx::query(
                    "INSERT INTO ohwb_resources (id, body, removed, changed) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                     body = CASE WHEN excluded.removed = 1 THEN ohwb_resources.body \
                     ELSE excluded.body END, removed = excluded.removed, \
                     changed = excluded.changed",
                )
                .bind(id)
                .bind(body.unwrap_or_default())
                .bind(removed)
                .bind(generation)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(generation)
        })
    }

    /// Every shared resource, in id order.
    pub fn shared_resources(&self) -> Result<Vec<SharedResource>> {
        let pool = self.pool.clone();
        self.run(async move {
            let rows = sqlx::query("SELECT id, body, removed FROM ohwb_resources ORDER BY id")
                .fetch_all(&pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(SharedResource {
                        id: r.try_get(0)?,
                        body: r.try_get(1)?,
                        removed: r.try_get::<i64, _>(2)? != 0,
                    })
                })
                .collect()
        })
    }
}
