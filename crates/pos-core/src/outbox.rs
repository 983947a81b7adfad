//! The sync outbox: every change records its mutation in the change's own transaction. The
//! payload carries customer data, so it is stored encrypted, bound to its mutation id.

use crate::crypto::{Aad, FieldCipher};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::write_tx::WriteTx;
use chrono::{DateTime, Utc};
use pos_domain::{Hlc, OrderId, Role, StaffId};
use pos_protocol::{Mutation, MutationBody};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

pub(crate) fn payload_aad(mutation_id: &str) -> Aad<'_> {
    Aad {
        table: "outbox",
        record_id: mutation_id,
        field: "payload",
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn append(
    tx: &mut WriteTx<'_>,
    cipher: &FieldCipher,
    device_id: Uuid,
    hlc: Hlc,
    at: DateTime<Utc>,
    actor: (StaffId, Role),
    order_id: OrderId,
    body: MutationBody,
) -> Result<Mutation> {
    let last = match tx.heads.outbox {
        Some(s) => s,
        None => {
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM outbox")
                .fetch_one(tx.conn().await?)
                .await? as u64
        }
    };
    let seq = last as i64 + 1;
    let m = Mutation {
        mutation_id: tx.uuid_at(at),
        device_id,
        seq: seq as u64,
        hlc,
        actor_id: actor.0,
        actor_role: actor.1,
        order_id,
        body,
    };
    let id = m.mutation_id.to_string();
    let payload = seal_payload(cipher, &m)?;
    // Written with the transaction's other rows when it commits (one statement for all).
    tx.outbox_rows.push(OutboxRow {
        seq,
        mutation_id: id,
        order_id: order_id.to_string(),
        kind: m.body.kind(),
        hlc: hlc.to_string(),
        payload,
        created_at: ts(&at),
    });
    // (a trigger counts the mutation on its order's `unsynced`)
    tx.heads.outbox = Some(seq as u64);
    Ok(m)
}

/// The stored form of a mutation: deflated JSON, encrypted and bound to its mutation id.
pub(crate) fn seal_payload(cipher: &FieldCipher, m: &Mutation) -> Result<Vec<u8>> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(m).map_err(StoreError::corrupt)?);
    Ok(cipher.encrypt(&pack(&json), payload_aad(&m.mutation_id.to_string())))
}

/// A queued mutation with its delivery state.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub seq: u64,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub mutation: Mutation,
}

pub(crate) fn decode(cipher: &FieldCipher, r: &sqlx::sqlite::SqliteRow) -> Result<OutboxEntry> {
    let id: String = r.get("mutation_id");
    let payload: Vec<u8> = r.get("payload");
    let packed = cipher
        .decrypt(&payload, payload_aad(&id))
        .ok_or(StoreError::Decrypt)?;
    let json = unpack(&packed)?;
    let mutation: Mutation = serde_json::from_slice(&json).map_err(StoreError::corrupt)?;
    Ok(OutboxEntry {
        seq: r.get::<i64, _>("seq") as u64,
        state: r.get("state"),
        attempts: r.get::<i64, _>("attempts") as u32,
        last_error: r.get("last_error"),
        mutation,
    })
}

/// An outbox row waiting for its transaction to commit.
pub(crate) struct OutboxRow {
    seq: i64,
    mutation_id: String,
    order_id: String,
    kind: &'static str,
    hlc: String,
    payload: Vec<u8>,
    created_at: String,
}

/// Appends `INSERT INTO outbox ... ;` for `rows` to `qb` (nothing for none).
pub(crate) fn push_insert(
    qb: &mut sqlx::QueryBuilder<'static, sqlx::Sqlite>,
    rows: Vec<OutboxRow>,
) {
    if rows.is_empty() {
        return;
    }
    qb.push("INSERT INTO outbox (seq, mutation_id, order_id, kind, hlc, payload, created_at) ");
    qb.push_values(rows, |mut b, r| {
        b.push_bind(r.seq)
            .push_bind(r.mutation_id)
            .push_bind(r.order_id)
            .push_bind(r.kind)
            .push_bind(r.hlc)
            .push_bind(r.payload)
            .push_bind(r.created_at);
    });
    qb.push(";\n");
}

use miniz_oxide::deflate::core::{
    compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};

const RAW: u8 = 0;
const DEFLATE: u8 = 1;

/// Payloads are deflated before encryption (they are mostly JSON keys; half the bytes means
/// half the pages written at each durable commit). First byte: 0 raw, 1 deflate. One buffer of
/// the raw form's size: deflate writes into it and only counts when it comes out smaller, so
/// the buffer is never reallocated (no copy of the plaintext left in freed memory) and nothing
/// is copied twice.
fn pack(json: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(vec![0u8; 1 + json.len()]);
    match deflate_into(json, &mut out[1..]) {
        Some(written) => {
            out[0] = DEFLATE;
            out.truncate(1 + written);
        }
        None => {
            out[0] = RAW;
            out[1..].copy_from_slice(json);
        }
    }
    out
}

thread_local! {
    /// A deflate compressor per thread, reused: a fresh one is ~300 KiB of tables that malloc
    /// maps, zeroes and unmaps again — at every order and payment.
    static DEFLATER: std::cell::RefCell<Option<Box<CompressorOxide>>> =
        const { std::cell::RefCell::new(None) };
}

/// Raw deflate (level 1) of `input` into `out`; the bytes written, or `None` when the result
/// does not fit in `out` or the compressor fails. The compressor is reset after each use, which
/// zeroes its window, so no payload's plaintext stays behind in it.
fn deflate_into(input: &[u8], out: &mut [u8]) -> Option<usize> {
    DEFLATER.with(|d| {
        let mut d = d.borrow_mut();
        let c = d.get_or_insert_with(|| {
            Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
                1, 0, 0,
            )))
        });
        let (status, read, written) = compress(c, input, out, TDEFLFlush::Finish);
        c.reset();
        (status == TDEFLStatus::Done && read == input.len() && written < out.len())
            .then_some(written)
    })
}

fn unpack(packed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    match packed.split_first() {
        Some((&RAW, rest)) => Ok(zeroize::Zeroizing::new(rest.to_vec())),
        Some((&DEFLATE, rest)) => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(rest, 16 << 20)
                .map(zeroize::Zeroizing::new)
                .map_err(|_| StoreError::corrupt("outbox payload does not inflate"))
        }
        _ => Err(StoreError::corrupt("outbox payload has an unknown format")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trip() {
        let json =
            br#"{"kind":"order_created","order":{"items":[{"name":"a"},{"name":"a"}]}}"#.repeat(5);
        let p = pack(&json);
        assert_eq!(p[0], DEFLATE);
        assert!(p.len() < json.len());
        assert_eq!(unpack(&p).unwrap().as_slice(), json.as_slice());
        let tiny = pack(b"{}");
        assert_eq!(tiny[0], RAW);
        assert_eq!(unpack(&tiny).unwrap().as_slice(), b"{}");
        assert!(unpack(&[9, 1, 2]).is_err());
    }

    /// The per-thread compressor is reused: payloads one after another, large and small,
    /// compressible or not (the output buffer grows), each come back exactly.
    #[test]
    fn the_reused_compressor_keeps_payloads_apart() {
        let mut noise = vec![0u8; 200_000];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut noise);
        let payloads: Vec<Vec<u8>> = vec![
            br#"{"a":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.to_vec(),
            noise,
            br#"{"b":1}"#.repeat(3000),
            br#"{"a":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.to_vec(),
        ];
        for p in &payloads {
            let packed = pack(p);
            assert_eq!(unpack(&packed).unwrap().as_slice(), p.as_slice());
        }
        assert_eq!(pack(&payloads[0]).as_slice(), pack(&payloads[3]).as_slice());
    }
}
