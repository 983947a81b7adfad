//! Recovering a store's data key with a passphrase, and sealing whole files (backups).
//!
//! - [`wrap`] keeps the data key encrypted (AES-256-GCM) under a key derived from the owner's
//!   recovery passphrase with argon2id. The parameters travel with the wrapped key, so a later
//!   version can raise them and still open older ones. The defaults are the second recommended
//!   option of RFC 9106 §4: argon2id, t = 3 passes, p = 4 lanes, m = 64 MiB.
//! - [`seal_stream`] / [`open_stream`] encrypt and authenticate a whole file (a backup), chunk
//!   by chunk in bounded memory, under a key derived (HKDF-SHA256) from the data key; the
//!   caller's associated data binds it to its header.

use crate::MasterKey;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;

/// RFC 9106 §4, second recommended option: t = 3, p = 4, m = 2^16 KiB (64 MiB).
pub const DEFAULT_KDF: Kdf = Kdf {
    algorithm: KdfAlgorithm::Argon2id,
    m_cost_kib: 64 * 1024,
    t_cost: 3,
    p_cost: 4,
};

/// The most a wrapped key may ask of [`unwrap`] (256 MiB, 10 passes, 16 lanes): a crafted
/// file cannot make a restore run for long or exhaust a shop PC's memory.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 10;
const MAX_P_COST: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KdfAlgorithm {
    Argon2id,
}

/// The key-derivation function and its cost, recorded with each wrapped key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    pub algorithm: KdfAlgorithm,
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

/// A data key encrypted under a passphrase: the KDF and its salt, the nonce and the ciphertext
/// (base64 in JSON). Holds nothing that opens it without the passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub kdf: Kdf,
    /// How the passphrase was put into bytes before the KDF; absent on keys wrapped before it
    /// was recorded (the bytes as typed).
    #[serde(default)]
    pub passphrase_form: PassphraseForm,
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    #[serde(with = "b64")]
    pub nonce: Vec<u8>,
    #[serde(with = "b64")]
    pub ciphertext: Vec<u8>,
}

/// How a passphrase becomes the KDF's input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PassphraseForm {
    /// Its UTF-8 bytes as typed (keys wrapped before the form was recorded).
    #[default]
    Raw,
    /// Unicode Normalization Form C first (UAX #15; as RFC 8265's OpaqueString does), so the
    /// same passphrase typed on Windows, macOS or Linux, whose keyboards may compose accented
    /// letters differently, gives the same key.
    Nfc,
}

impl PassphraseForm {
    fn bytes(self, passphrase: &str) -> Zeroizing<Vec<u8>> {
        use unicode_normalization::UnicodeNormalization;
        Zeroizing::new(match self {
            PassphraseForm::Raw => passphrase.as_bytes().to_vec(),
            PassphraseForm::Nfc => passphrase.nfc().collect::<String>().into_bytes(),
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecoveryError {
    /// The passphrase does not open this key (or the wrapped key was altered).
    #[error("the passphrase does not open this key")]
    WrongPassphrase,
    /// The wrapped key asks for a KDF or costs this version does not accept.
    #[error("the recovery key's parameters are not supported")]
    Unsupported,
    /// The sealed data is damaged or was altered.
    #[error("the sealed data is damaged or was altered")]
    Damaged,
}

fn kek(kdf: &Kdf, passphrase: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, RecoveryError> {
    let KdfAlgorithm::Argon2id = kdf.algorithm;
    if kdf.m_cost_kib > MAX_M_COST_KIB || kdf.t_cost > MAX_T_COST || kdf.p_cost > MAX_P_COST {
        return Err(RecoveryError::Unsupported);
    }
    let params = argon2::Params::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|_| RecoveryError::Unsupported)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|_| RecoveryError::Unsupported)?;
    Ok(out)
}

fn aead(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(key))
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// Wraps `key` under `passphrase` with `kdf` and a fresh random salt; `context` (e.g. the
/// device id) must be given again to [`unwrap`]. Takes as long as the KDF (about a second with
/// [`DEFAULT_KDF`]): call it off the async runtime.
pub fn wrap(
    key: &MasterKey,
    passphrase: &str,
    kdf: Kdf,
    context: &str,
) -> Result<WrappedKey, RecoveryError> {
    let salt = random::<16>();
    let nonce = random::<NONCE_LEN>();
    let form = PassphraseForm::Nfc;
    let kek = kek(&kdf, &form.bytes(passphrase), &salt)?;
    let ciphertext = aead(&kek)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: key.bytes(),
                aad: wrap_aad(context).as_bytes(),
            },
        )
        .map_err(|_| RecoveryError::Damaged)?;
    Ok(WrappedKey {
        kdf,
        passphrase_form: form,
        salt: salt.to_vec(),
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// The data key inside `wrapped`, given the passphrase and the `context` it was wrapped with.
pub fn unwrap(
    wrapped: &WrappedKey,
    passphrase: &str,
    context: &str,
) -> Result<MasterKey, RecoveryError> {
    if wrapped.nonce.len() != NONCE_LEN || wrapped.salt.len() < 16 {
        return Err(RecoveryError::Unsupported);
    }
    let input = wrapped.passphrase_form.bytes(passphrase);
    let kek = kek(&wrapped.kdf, &input, &wrapped.salt)?;
    let plain = Zeroizing::new(
        aead(&kek)
            .decrypt(
                Nonce::from_slice(&wrapped.nonce),
                Payload {
                    msg: &wrapped.ciphertext,
                    aad: wrap_aad(context).as_bytes(),
                },
            )
            .map_err(|_| RecoveryError::WrongPassphrase)?,
    );
    let bytes: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| RecoveryError::WrongPassphrase)?;
    Ok(MasterKey::from_bytes(bytes))
}

fn wrap_aad(context: &str) -> String {
    format!("pos:v1\u{1f}recovery-key\u{1f}{context}")
}

fn file_key(key: &MasterKey) -> Zeroizing<[u8; 32]> {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(b"offline-order-pos"), key.bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes are always within HKDF-SHA256's limit.
    let _ = hk.expand(b"pos/v1/backup-file", out.as_mut());
    out
}

/// The plaintext size of one sealed chunk (the last may be shorter).
pub const CHUNK: usize = 1 << 20;
const TAG: usize = 16;
const STREAM_NONCE: usize = 7;

/// Why a sealed stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A chunk failed its authentication: a changed, missing, reordered or cut byte, or
    /// another key or associated data.
    #[error("the sealed data is damaged or was altered")]
    Damaged,
    #[error("reading or writing failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Encrypts everything `plain` yields into `out` under a key derived from `key`, authenticated
/// as a whole: the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, 2015) over
/// AES-256-GCM, `aead::stream::StreamBE32`: a random 7-byte nonce prefix, then chunks of
/// [`CHUNK`] plaintext bytes each sealed with its position and a last-chunk flag, so no chunk
/// can be changed, dropped, moved or cut off unseen. `aad` (e.g. the file's header) is bound
/// to every chunk. Memory: two chunks, whatever the size.
pub fn seal_stream(
    key: &MasterKey,
    aad: &[u8],
    plain: &mut impl std::io::Read,
    out: &mut impl std::io::Write,
) -> Result<(), StreamError> {
    let prefix = random::<STREAM_NONCE>();
    out.write_all(&prefix)?;
    let k = file_key(key);
    let mut enc =
        aes_gcm::aead::stream::EncryptorBE32::from_aead(aead(&k), prefix.as_slice().into());
    let mut cur = vec![0u8; CHUNK];
    let mut next = vec![0u8; CHUNK];
    let mut n = read_full(plain, &mut cur)?;
    loop {
        let m = if n == CHUNK {
            read_full(plain, &mut next)?
        } else {
            0
        };
        let payload = Payload {
            msg: &cur[..n],
            aad,
        };
        if m == 0 {
            let ct = enc
                .encrypt_last(payload)
                .map_err(|_| StreamError::Damaged)?;
            out.write_all(&ct)?;
            return Ok(());
        }
        let ct = enc
            .encrypt_next(payload)
            .map_err(|_| StreamError::Damaged)?;
        out.write_all(&ct)?;
        std::mem::swap(&mut cur, &mut next);
        n = m;
    }
}

/// Decrypts a [`seal_stream`]ed input into `out`, checking every chunk; `sealed` must end
/// where the sealed data ends. On [`StreamError::Damaged`] `out` may hold a part of the
/// plaintext: the caller discards it.
pub fn open_stream(
    key: &MasterKey,
    aad: &[u8],
    sealed: &mut impl std::io::Read,
    out: &mut impl std::io::Write,
) -> Result<(), StreamError> {
    let mut prefix = [0u8; STREAM_NONCE];
    if read_full(sealed, &mut prefix)? < STREAM_NONCE {
        return Err(StreamError::Damaged);
    }
    let k = file_key(key);
    let mut dec =
        aes_gcm::aead::stream::DecryptorBE32::from_aead(aead(&k), prefix.as_slice().into());
    let block = CHUNK + TAG;
    let mut cur = vec![0u8; block];
    let mut next = vec![0u8; block];
    let mut n = read_full(sealed, &mut cur)?;
    loop {
        if n < TAG {
            return Err(StreamError::Damaged);
        }
        let m = if n == block {
            read_full(sealed, &mut next)?
        } else {
            0
        };
        let payload = Payload {
            msg: &cur[..n],
            aad,
        };
        if m == 0 {
            let pt = Zeroizing::new(
                dec.decrypt_last(payload)
                    .map_err(|_| StreamError::Damaged)?,
            );
            out.write_all(&pt)?;
            return Ok(());
        }
        let pt = Zeroizing::new(
            dec.decrypt_next(payload)
                .map_err(|_| StreamError::Damaged)?,
        );
        out.write_all(&pt)?;
        std::mem::swap(&mut cur, &mut next);
        n = m;
    }
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: the tests check the construction, not the cost.
    const FAST: Kdf = Kdf {
        algorithm: KdfAlgorithm::Argon2id,
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    #[test]
    fn the_same_passphrase_composed_or_decomposed_opens_the_key() {
        let key = MasterKey::generate();
        // "é" as one code point (Windows, most keyboards) and as e + combining acute (macOS)
        let composed = "kata sandi caf\u{e9} toko";
        let decomposed = "kata sandi cafe\u{301} toko";
        let w = wrap(&key, composed, FAST, "d").unwrap();
        assert_eq!(w.passphrase_form, PassphraseForm::Nfc);
        assert_eq!(unwrap(&w, decomposed, "d").unwrap().bytes(), key.bytes());
        let w = wrap(&key, decomposed, FAST, "d").unwrap();
        assert_eq!(unwrap(&w, composed, "d").unwrap().bytes(), key.bytes());
        // a key wrapped before the form was recorded still opens with its bytes as typed
        let mut json = serde_json::to_value(&w).unwrap();
        json.as_object_mut().unwrap().remove("passphrase_form");
        let old: WrappedKey = serde_json::from_value(json).unwrap();
        assert_eq!(old.passphrase_form, PassphraseForm::Raw);
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_passphrase_and_context() {
        let key = MasterKey::generate();
        let w = wrap(&key, "kunci cadangan toko", FAST, "device-1").unwrap();
        let back = unwrap(&w, "kunci cadangan toko", "device-1").unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert_eq!(
            unwrap(&w, "kunci cadangan tokO", "device-1").err(),
            Some(RecoveryError::WrongPassphrase)
        );
        assert_eq!(
            unwrap(&w, "kunci cadangan toko", "device-2").err(),
            Some(RecoveryError::WrongPassphrase)
        );
        // recorded parameters, and a fresh salt each time
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["kdf"]["algorithm"], "argon2id");
        assert_eq!(json["kdf"]["m_cost_kib"], 64);
        let again = wrap(&key, "kunci cadangan toko", FAST, "device-1").unwrap();
        assert_ne!(again.salt, w.salt);
        assert_ne!(again.ciphertext, w.ciphertext);
        // every flipped byte of the ciphertext is refused
        for i in 0..w.ciphertext.len() {
            let mut t = w.clone();
            t.ciphertext[i] ^= 1;
            assert!(unwrap(&t, "kunci cadangan toko", "device-1").is_err());
        }
    }

    #[test]
    fn a_crafted_cost_is_refused_before_any_work() {
        let key = MasterKey::generate();
        let mut w = wrap(&key, "pass phrase!", FAST, "d").unwrap();
        w.kdf.m_cost_kib = 4 * 1024 * 1024;
        assert_eq!(
            unwrap(&w, "pass phrase!", "d").err(),
            Some(RecoveryError::Unsupported)
        );
        let mut w = wrap(&key, "pass phrase!", FAST, "d").unwrap();
        w.nonce.pop();
        assert_eq!(
            unwrap(&w, "pass phrase!", "d").err(),
            Some(RecoveryError::Unsupported)
        );
    }

    fn seal_all(key: &MasterKey, aad: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        seal_stream(key, aad, &mut &data[..], &mut out).unwrap();
        out
    }

    fn open_all(key: &MasterKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        open_stream(key, aad, &mut &sealed[..], &mut out).map(|()| out)
    }

    #[test]
    fn a_sealed_stream_is_authenticated_as_a_whole() {
        let key = MasterKey::generate();
        // empty, short, exactly one chunk, two chunks and a bit
        for len in [0, 5000, CHUNK, 2 * CHUNK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_all(&key, b"header", &data);
            assert_eq!(
                sealed.len(),
                STREAM_NONCE + len + TAG * len.div_ceil(CHUNK).max(1)
            );
            assert_eq!(open_all(&key, b"header", &sealed).unwrap(), data, "{len}");
            for i in (0..sealed.len()).step_by((sealed.len() / 7).max(1)) {
                let mut t = sealed.clone();
                t[i] ^= 0x80;
                assert!(
                    matches!(open_all(&key, b"header", &t), Err(StreamError::Damaged)),
                    "{len} byte {i}"
                );
            }
            assert!(open_all(&key, b"headeR", &sealed).is_err());
            assert!(open_all(&MasterKey::generate(), b"header", &sealed).is_err());
            // cut anywhere, at a chunk's end too: refused
            for cut in [1, TAG, CHUNK + TAG, sealed.len() - 1] {
                if cut < sealed.len() {
                    assert!(
                        open_all(&key, b"header", &sealed[..sealed.len() - cut]).is_err(),
                        "{len} cut {cut}"
                    );
                }
            }
        }
        // chunks swapped
        let data = vec![7u8; 2 * CHUNK + 1];
        let sealed = seal_all(&key, b"h", &data);
        let b = CHUNK + TAG;
        let mut swapped = sealed[..STREAM_NONCE].to_vec();
        swapped.extend_from_slice(&sealed[STREAM_NONCE + b..STREAM_NONCE + 2 * b]);
        swapped.extend_from_slice(&sealed[STREAM_NONCE..STREAM_NONCE + b]);
        swapped.extend_from_slice(&sealed[STREAM_NONCE + 2 * b..]);
        assert!(open_all(&key, b"h", &swapped).is_err());
    }
}
