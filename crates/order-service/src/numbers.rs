//! The API's order numbers: [`OrderNumbers`] hands them out from blocks reserved in the
//! database, in the series [`API_NUMBER_PREFIX`].

use crate::audit::Streams;
use crate::error::ApiResult;
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

/// API order numbers (`API-<day>-<n>`, unique per tenant and day), handed out from blocks
/// reserved in the database: one short transaction on the counter row per block instead of one
/// per order, so creates never wait on that row. A block is sized to last about a second at the
/// pace the previous one was used ([`Self::next_block_size`]): a quiet counter reserves
/// [`Self::MIN_BLOCK`] at a time, a burst of creates up to [`Self::MAX_BLOCK`], so under load
/// the reservations' commits (each a WAL flush) stay a few per second instead of competing with
/// the orders' own. Numbers left in a block when the process stops are never used (a gap, like
/// a refused create's — at most about a second's worth); concurrent processes hold different
/// blocks, so a number is never given twice.
#[derive(Default)]
pub struct OrderNumbers {
    blocks: std::sync::Mutex<std::collections::HashMap<(Uuid, chrono::NaiveDate), Block>>,
    refill: tokio::sync::Mutex<()>,
}

/// The numbers of a block not yet handed out, and how big it was and when it was reserved.
struct Block {
    left: std::ops::Range<i64>,
    size: i64,
    reserved: std::time::Instant,
}

impl OrderNumbers {
    pub const MIN_BLOCK: i64 = 32;
    pub const MAX_BLOCK: i64 = 1024;

    /// The size of the next block after one of `size` numbers was used up in `lasted`: about a
    /// second's worth at that pace, a power of two between [`Self::MIN_BLOCK`] and
    /// [`Self::MAX_BLOCK`].
    pub fn next_block_size(size: i64, lasted: std::time::Duration) -> i64 {
        let millis = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX).max(1);
        let per_second = u64::try_from(size)
            .unwrap_or(0)
            .saturating_mul(1000)
            .div_ceil(millis);
        let size = i64::try_from(per_second.next_power_of_two()).unwrap_or(i64::MAX);
        size.clamp(Self::MIN_BLOCK, Self::MAX_BLOCK)
    }

    pub async fn next(
        &self,
        (pool, streams): (&PgPool, &Arc<Streams>),
        tenant: Uuid,
        day: chrono::NaiveDate,
    ) -> ApiResult<i64> {
        let key = (tenant, day);
        if let Some(n) = self.take(&key) {
            return Ok(n);
        }
        // One reservation at a time, so the numbers of one process stay consecutive.
        let _refilling = self.refill.lock().await;
        if let Some(n) = self.take(&key) {
            return Ok(n);
        }
        let size = self.lock_blocks().get(&key).map_or(Self::MIN_BLOCK, |b| {
            Self::next_block_size(b.size, b.reserved.elapsed())
        });
        let mut tx = crate::db::tenant_tx(pool, streams, tenant).await?;
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO order_number_counters (tenant_id, day, last) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, day) DO UPDATE SET last = order_number_counters.last + $3
             RETURNING last",
        )
        .bind(tenant)
        .bind(day)
        .bind(size)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut blocks = self.lock_blocks();
        // Yesterday's blocks are done with.
        blocks.retain(|(_, d), _| *d >= day);
        blocks.insert(
            key,
            Block {
                left: last - size + 2..last + 1,
                size,
                reserved: std::time::Instant::now(),
            },
        );
        Ok(last - size + 1)
    }

    fn take(&self, key: &(Uuid, chrono::NaiveDate)) -> Option<i64> {
        self.lock_blocks().get_mut(key).and_then(|b| b.left.next())
    }

    fn lock_blocks(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(Uuid, chrono::NaiveDate), Block>>
    {
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The series of the orders taken through the API (`API-<yyyymmdd>-<nnnn>`); no counter may
/// use it as its code.
pub const API_NUMBER_PREFIX: &str = "API";

#[cfg(test)]
mod tests {
    use super::OrderNumbers;
    use std::time::Duration;

    #[test]
    fn a_block_lasts_about_a_second_at_the_pace_of_the_last_one() {
        let next = |size, ms| OrderNumbers::next_block_size(size, Duration::from_millis(ms));
        // 32 used in 100 ms is 320 a second: the next block holds 512.
        assert_eq!(next(32, 100), 512);
        assert_eq!(next(512, 1000), 512);
        // A burst reaches the largest block and stays there.
        assert_eq!(next(32, 10), OrderNumbers::MAX_BLOCK);
        assert_eq!(next(OrderNumbers::MAX_BLOCK, 0), OrderNumbers::MAX_BLOCK);
        // A quiet counter (or one idle since its last block) goes back to the smallest.
        assert_eq!(next(1024, 60_000), OrderNumbers::MIN_BLOCK);
        assert_eq!(next(32, 2_000), OrderNumbers::MIN_BLOCK);
    }
}
