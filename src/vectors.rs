//! The two vector files in an index directory: each generation's passage vectors, and a cache
//! of every vector the last build computed, so the next build embeds only what changed.
//!
//! ```text
//! index/gen-*/vectors.bin   OHWBVEC1, then per passage in corpus order: u16 id length, id,
//!                           DIM f32 (all little-endian)
//! index/gen-*/phrasings.bin the same format, one record per (passage, phrasing of its
//!                           section): several records may share a passage id
//! index/gen-*/units.bin     OHWBUNI2, u32 passage count N, then N × (u64 byte offset, u16
//!                           piece count P, u16 phrasing count Q), then per passage in corpus
//!                           order the P vectors of its answer pieces (`answer_units`), then
//!                           Q × (u16 piece index, vector) for the line phrasings of its
//!                           pieces: read per cited passage, never loaded whole, so a
//!                           100k-passage corpus costs no memory for them
//! index/vector-cache.bin    OHWBVC02, the model id (16 ASCII hex), then records: b'v', a key
//!                           (SHA-256 of the exact text, `Embedder::key`, or of a marker and
//!                           the text for a question vector, `Embedder::question_key`) and
//!                           DIM f32; or b'l', a key (`Embedder::logit_key`, naming the
//!                           distress top) and the top's logit for a training example it never
//!                           saw, one f32
//! ```
//!
//! Invariants:
//! - The cache is an optimisation only: a missing, damaged or other-model cache is ignored and
//!   the texts are embedded again; it is written atomically, holding only the texts the latest
//!   build used, so it never grows without bound. It holds no question a user asked.
//! - A damaged `vectors.bin` is an error naming the file (the generation is then rebuilt).

use std::path::Path;

use crate::embed::{Embedder, DIM};
use crate::{Error, Result};

/// A generation's passage vectors.
pub const PASSAGES: &str = "vectors.bin";
/// A generation's phrasing vectors, keyed by the passage they point at.
pub const PHRASINGS: &str = "phrasings.bin";
/// The build cache, directly in the index directory.
pub const CACHE: &str = "vector-cache.bin";
const PASSAGES_MAGIC: &[u8; 8] = b"OHWBVEC1";
/// Version 2 tags each record: a vector, or a distress-top logit (version 1 stored a logit as
/// the first value of an otherwise empty vector).
const CACHE_MAGIC: &[u8; 8] = b"OHWBVC02";
/// A cache record holding a vector ([`DIM`] floats)...
const VECTOR_RECORD: u8 = b'v';
/// ...or a distress-top logit (one float).
const LOGIT_RECORD: u8 = b'l';
/// Version 2 adds the line phrasings' vectors after each passage's piece vectors.
const UNITS_MAGIC: &[u8; 8] = b"OHWBUNI2";
/// A generation's answer-piece vectors.
pub const UNITS: &str = "units.bin";

fn push_floats(bytes: &mut Vec<u8>, v: &[f32]) {
    v.iter()
        .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
}

fn floats(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// Embeds `(id, text)` pairs (through the cache) and writes them to `gen_dir/file`
/// ([`PASSAGES`] or [`PHRASINGS`]).
pub fn write_passages(
    gen_dir: &Path,
    file: &str,
    passages: &[(&str, String)],
    embedder: &Embedder,
) -> Result<()> {
    let texts: Vec<&str> = passages.iter().map(|(_, t)| t.as_str()).collect();
    let vectors = embedder.embed_cached(&texts)?;
    let mut bytes = Vec::with_capacity(8 + passages.len() * (DIM * 4 + 40));
    bytes.extend_from_slice(PASSAGES_MAGIC);
    for ((id, _), v) in passages.iter().zip(&vectors) {
        let id = id.as_bytes();
        bytes.extend_from_slice(&(id.len() as u16).to_le_bytes());
        bytes.extend_from_slice(id);
        push_floats(&mut bytes, v);
    }
    let path = gen_dir.join(file);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
}

/// Reads `gen_dir/file`: passage ids in file order, and their vectors concatenated.
pub fn read_passages(gen_dir: &Path, file: &str) -> Result<(Vec<String>, Vec<f32>)> {
    let path = gen_dir.join(file);
    let bad = |message: &str| Error::BadIndex {
        path: path.clone(),
        message: format!("{message}; run `ohwb-bot index` to rebuild"),
    };
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let mut rest = bytes
        .strip_prefix(PASSAGES_MAGIC.as_slice())
        .ok_or_else(|| bad("not a vector file"))?;
    // Sized once: at 100k passages this is 150 MB, and growing it by doubling copies it again.
    let count = rest.len() / (DIM * 4 + 2);
    let (mut ids, mut vectors) = (Vec::with_capacity(count), Vec::with_capacity(count * DIM));
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(2).ok_or_else(|| bad("truncated"))?;
        let len = u16::from_le_bytes([len[0], len[1]]) as usize;
        let (id, tail) = tail.split_at_checked(len).ok_or_else(|| bad("truncated"))?;
        let (v, tail) = tail
            .split_at_checked(DIM * 4)
            .ok_or_else(|| bad("truncated"))?;
        ids.push(String::from_utf8_lossy(id).into_owned());
        vectors.extend(floats(v));
        rest = tail;
    }
    Ok((ids, vectors))
}

/// One passage's line phrasings: (index of the piece they ask for, the phrasing).
pub type PieceAsks = Vec<(u16, String)>;

/// Embeds the answer pieces of every passage and the line phrasings of those pieces (through
/// the cache), in corpus order, and writes them to `gen_dir/units.bin`. `asks[i]` holds, for
/// passage `i`, (index of the piece in `pieces[i]`, a phrasing of it).
pub fn write_units(
    gen_dir: &Path,
    pieces: &[Vec<String>],
    asks: &[PieceAsks],
    embedder: &Embedder,
) -> Result<()> {
    let texts: Vec<&str> = pieces
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(asks.iter().flatten().map(|(_, a)| a.as_str()))
        .collect();
    let mut vectors = embedder.embed_cached(&texts)?;
    let n_pieces: usize = pieces.iter().map(Vec::len).sum();
    let mut asked_vectors = vectors.split_off(n_pieces).into_iter();
    let mut vectors = vectors.into_iter();
    let table = 12 + pieces.len() * TABLE_ENTRY;
    let mut bytes = Vec::with_capacity(table + texts.len() * (DIM * 4 + 2));
    bytes.extend_from_slice(UNITS_MAGIC);
    bytes.extend_from_slice(&(pieces.len() as u32).to_le_bytes());
    let mut offset = table as u64;
    let empty = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let q = asks.get(i).unwrap_or(&empty);
        let (p_count, q_count) = (p.len().min(MAX_RECORDS), q.len().min(MAX_RECORDS));
        bytes.extend_from_slice(&offset.to_le_bytes());
        bytes.extend_from_slice(&(p_count as u16).to_le_bytes());
        bytes.extend_from_slice(&(q_count as u16).to_le_bytes());
        offset += (p_count * DIM * 4 + q_count * (2 + DIM * 4)) as u64;
    }
    for (i, p) in pieces.iter().enumerate() {
        for (k, v) in vectors.by_ref().take(p.len()).enumerate() {
            if k < MAX_RECORDS {
                push_floats(&mut bytes, &v);
            }
        }
        let q = asks.get(i).unwrap_or(&empty);
        for (k, ((piece, _), v)) in q.iter().zip(asked_vectors.by_ref()).enumerate() {
            if k < MAX_RECORDS {
                bytes.extend_from_slice(&piece.to_le_bytes());
                push_floats(&mut bytes, &v);
            }
        }
    }
    let path = gen_dir.join(UNITS);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
}

/// Bytes per passage in `units.bin`'s table.
const TABLE_ENTRY: usize = 12;
/// Records of one kind kept per passage (the count is a u16).
const MAX_RECORDS: usize = u16::MAX as usize;

/// The vectors stored for one passage's answer pieces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PieceVectors {
    /// One per piece, in [`crate::answer_units::answer_units`] order.
    pub pieces: Vec<Vec<f32>>,
    /// (piece index, vector of one of its line phrasings).
    pub phrasings: Vec<(usize, Vec<f32>)>,
}

/// `units.bin` of one generation, open for reading one passage's vectors at a time.
pub struct UnitVectors {
    file: std::fs::File,
    /// Per passage (corpus order): byte offset, number of pieces, number of phrasings.
    table: Vec<(u64, u16, u16)>,
}

impl UnitVectors {
    /// Opens `gen_dir/units.bin` and reads its table.
    pub fn open(gen_dir: &Path) -> Result<UnitVectors> {
        use std::io::Read;
        let path = gen_dir.join(UNITS);
        let bad = |message: &str| Error::BadIndex {
            path: path.clone(),
            message: format!("{message}; run `ohwb-bot index` to rebuild"),
        };
        let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut head = [0u8; 12];
        file.read_exact(&mut head).map_err(|_| bad("truncated"))?;
        if &head[..8] != UNITS_MAGIC {
            return Err(bad("not a vector file"));
        }
        let n = u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize;
        let mut raw = vec![0u8; n * TABLE_ENTRY];
        file.read_exact(&mut raw).map_err(|_| bad("truncated"))?;
        let table = raw
            .chunks_exact(TABLE_ENTRY)
            .map(|c| {
                let offset = u64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
                let count = |at: usize| u16::from_le_bytes([c[at], c[at + 1]]);
                (offset, count(8), count(10))
            })
            .collect();
        Ok(UnitVectors { file, table })
    }

    /// The vectors of the answer pieces of the passage at position `i` (corpus order), and of
    /// their line phrasings, or `None` when the file does not have them (damaged: the caller
    /// scores by words alone).
    pub fn get(&self, i: usize) -> Option<PieceVectors> {
        use std::os::unix::fs::FileExt;
        let &(offset, p, q) = self.table.get(i)?;
        let (p, q) = (p as usize, q as usize);
        let mut buf = vec![0u8; p * DIM * 4 + q * (2 + DIM * 4)];
        self.file.read_exact_at(&mut buf, offset).ok()?;
        let (own, asked) = buf.split_at(p * DIM * 4);
        Some(PieceVectors {
            pieces: own
                .chunks_exact(DIM * 4)
                .map(|v| floats(v).collect())
                .collect(),
            phrasings: asked
                .chunks_exact(2 + DIM * 4)
                .map(|r| {
                    let piece = u16::from_le_bytes([r[0], r[1]]) as usize;
                    (piece, floats(&r[2..]).collect())
                })
                .collect(),
        })
    }
}

/// Gives `embedder` the vectors and distress-top logits the last build in `index_dir`
/// computed, when they came from the same model (a logit's key also names its top). Best
/// effort: anything unreadable is ignored, and reading stops at the first damaged record.
pub fn load_cache(index_dir: &Path, embedder: &Embedder) {
    let Ok(bytes) = std::fs::read(index_dir.join(CACHE)) else {
        return;
    };
    let Some(rest) = bytes.strip_prefix(CACHE_MAGIC.as_slice()) else {
        return;
    };
    let Some((model, entries)) = rest.split_at_checked(16) else {
        return;
    };
    if model != embedder.id().as_bytes() {
        return;
    }
    let mut rest = entries;
    while let Some((&tag, after)) = rest.split_first() {
        let floats_in = match tag {
            VECTOR_RECORD => DIM,
            LOGIT_RECORD => 1,
            _ => return,
        };
        let Some((record, next)) = after.split_at_checked(32 + floats_in * 4) else {
            return;
        };
        let (key, v) = record.split_at(32);
        let key: [u8; 32] = key.try_into().expect("split at 32");
        match tag {
            VECTOR_RECORD => embedder.prime(key, floats(v).collect()),
            _ => embedder.prime_logit(key, floats(v).next().unwrap_or_default()),
        }
        rest = next;
    }
}

/// Writes the cached vectors and logits of `keys` (all computed by now) atomically. Best
/// effort: a failure costs time at the next build, never correctness, so it is only logged.
pub fn save_cache(index_dir: &Path, embedder: &Embedder, keys: &[[u8; 32]]) {
    let mut bytes = Vec::with_capacity(24 + keys.len() * (1 + 32 + DIM * 4));
    bytes.extend_from_slice(CACHE_MAGIC);
    bytes.extend_from_slice(embedder.id().as_bytes());
    let mut seen = std::collections::HashSet::new();
    for &key in keys {
        if !seen.insert(key) {
            continue;
        }
        if let Some(v) = embedder.cached(&key) {
            bytes.push(VECTOR_RECORD);
            bytes.extend_from_slice(&key);
            push_floats(&mut bytes, &v);
        } else if let Some(l) = embedder.cached_logit(&key) {
            bytes.push(LOGIT_RECORD);
            bytes.extend_from_slice(&key);
            push_floats(&mut bytes, &[l]);
        }
    }
    let tmp = index_dir.join(format!("{CACHE}.tmp-{}", std::process::id()));
    let dest = index_dir.join(CACHE);
    if let Err(e) = crate::fsutil::write_atomically(&tmp, &dest, &bytes, "vector-cache-written") {
        tracing::warn!(path = %dest.display(), error = %e, "could not save the vector cache");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether two vectors of one text agree to float rounding: a text read in a batch of many
    /// goes through candle's product, a short one alone through `embed::product`, and the two
    /// add in different orders.
    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    fn model() -> std::sync::Arc<Embedder> {
        Embedder::shared(&Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::embed::DEFAULT_DIR))
            .unwrap()
    }

    #[test]
    fn piece_vectors_and_their_phrasings_round_trip_per_passage() {
        let dir = tempfile::tempdir().unwrap();
        let m = model();
        let pieces = vec![
            vec!["The final report followed.".to_string(), "It ended.".into()],
            vec![],
            vec!["Only one.".to_string()],
        ];
        let asks = vec![
            vec![(1, "is it still going".to_string())],
            vec![],
            vec![(0, "just one?".to_string()), (0, "single".to_string())],
        ];
        write_units(dir.path(), &pieces, &asks, &m).unwrap();
        let units = UnitVectors::open(dir.path()).unwrap();
        let first = units.get(0).unwrap();
        assert_eq!(first.pieces.len(), 2);
        assert!(same(&first.pieces[1], &m.embed("It ended.").unwrap()));
        assert_eq!(first.phrasings.len(), 1);
        assert_eq!(first.phrasings[0].0, 1);
        assert!(same(
            &first.phrasings[0].1,
            &m.embed("is it still going").unwrap()
        ));
        assert_eq!(units.get(1).unwrap(), PieceVectors::default());
        let third = units.get(2).unwrap();
        assert!(same(&third.pieces[0], &m.embed("Only one.").unwrap()));
        let owners: Vec<usize> = third.phrasings.iter().map(|(k, _)| *k).collect();
        assert_eq!(owners, [0, 0]);
        assert!(same(&third.phrasings[1].1, &m.embed("single").unwrap()));
        assert!(units.get(3).is_none());
        // A truncated file loses the passages it no longer holds, never mixes them up.
        let path = dir.path().join(UNITS);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let units = UnitVectors::open(dir.path()).unwrap();
        assert!(units.get(0).is_some());
        assert!(units.get(2).is_none());
    }

    #[test]
    fn passage_vectors_round_trip_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let m = model();
        let passages = vec![
            ("a/b/1", "first text".to_string()),
            ("a/b/2", "second".into()),
        ];
        write_passages(dir.path(), PASSAGES, &passages, &m).unwrap();
        let (ids, v) = read_passages(dir.path(), PASSAGES).unwrap();
        assert_eq!(ids, vec!["a/b/1", "a/b/2"]);
        assert_eq!(v.len(), 2 * DIM);
        assert!(same(&v[..DIM], &m.embed("first text").unwrap()));
        let path = dir.path().join(PASSAGES);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let e = read_passages(dir.path(), PASSAGES).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn the_cache_keeps_only_the_texts_of_the_last_build() {
        let dir = tempfile::tempdir().unwrap();
        let m = model();
        m.embed_cached(&["kept text", "dropped text"]).unwrap();
        m.question_cached(&["kept question"]).unwrap();
        let keys = [
            Embedder::key("kept text"),
            Embedder::question_key("kept question"),
        ];
        save_cache(dir.path(), &m, &keys);
        let size = std::fs::metadata(dir.path().join(CACHE)).unwrap().len() as usize;
        assert_eq!(size, 8 + 16 + 2 * (1 + 32 + DIM * 4));
        // The two kinds of vector of one text are kept apart.
        assert_ne!(
            Embedder::key("kept question"),
            Embedder::question_key("kept question")
        );
        // A damaged cache is ignored, not an error.
        std::fs::write(dir.path().join(CACHE), b"OHWBVC01garbage").unwrap();
        load_cache(dir.path(), &m);
    }

    #[test]
    fn vectors_and_distress_logits_come_back_from_the_cache_as_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let m = model();
        let text = "no example says this: the vending machine ate my pound again";
        let vector = m.embed_cached(&[text]).unwrap()[0].clone();
        let logit = m.example_logits(&[text]).unwrap()[0];
        let keys = [Embedder::key(text), m.logit_key(text)];
        save_cache(dir.path(), &m, &keys);
        let path = dir.path().join(CACHE);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 8 + 16 + (1 + 32 + DIM * 4) + (1 + 32 + 4));

        // A process that computed neither gets both back, each in its own table.
        let dir_model = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::embed::DEFAULT_DIR);
        let fresh = Embedder::load(&dir_model).unwrap();
        load_cache(dir.path(), &fresh);
        assert_eq!(fresh.cached(&keys[0]).as_deref(), Some(&vector[..]));
        assert_eq!(fresh.cached_logit(&keys[1]), Some(logit));
        assert!(fresh.cached(&keys[1]).is_none() && fresh.cached_logit(&keys[0]).is_none());

        // A cut-off last record is dropped; the records before it still load.
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let cut = Embedder::load(&dir_model).unwrap();
        load_cache(dir.path(), &cut);
        assert!(cut.cached(&keys[0]).is_some());
        assert!(cut.cached_logit(&keys[1]).is_none());
    }
}
