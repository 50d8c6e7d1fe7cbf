//! Building a generation: load the corpus, write a new `gen-*` directory (tantivy index and
//! passage vectors), train or carry over the distress detector and the scope model, then swap
//! `current.json`.
//! The invariants are the index's (see the parent module): a failed build changes nothing
//! served; one build at a time per index directory.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tantivy::{Index, TantivyDocument};

use super::{
    fingerprint, hex, read_manifest, schema, terms_of, DocInfo, Manifest, DISTRESS_RECALL_TARGET,
    MANIFEST, SCHEMA_VERSION, TOKENIZER,
};
use crate::answer_units::answer_units;
use crate::corpus::line_phrasings;
use crate::corpus::phrasings::section_of;
use crate::corpus::{self, Corpus};
use crate::embed::Embedder;
use crate::safety::{self, Detector};
use crate::scope::Scope;
use crate::sections::SectionModel;
use crate::vectors;
use crate::{Error, Result};

/// Which documents a build added, removed or changed, by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// New documents.
    pub added: Vec<String>,
    /// Documents no longer in the corpus.
    pub removed: Vec<String>,
    /// Documents whose passages changed.
    pub updated: Vec<String>,
}

/// The outcome of a successful build.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Documents indexed.
    pub documents: usize,
    /// Passages indexed.
    pub passages: usize,
    /// Compared with the generation served before.
    pub changes: Changes,
    /// Wall time of the build.
    pub elapsed: Duration,
}

static LOCK_PATIENCE_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(60_000);

/// How long a build waits for another to finish before giving up (`[index] lock_timeout_s`).
pub fn set_lock_patience(patience: Duration) {
    LOCK_PATIENCE_MS.store(
        patience.as_millis().min(u128::from(u64::MAX)) as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
}

fn lock(index_dir: &Path, wait: bool) -> Result<crate::fsutil::LockFile> {
    let path = index_dir.join(".lock");
    if !wait {
        return crate::fsutil::lock_file(&path, false)
            .map_err(|e| Error::io(&path, e))?
            .ok_or(Error::Busy);
    }
    let patience = LOCK_PATIENCE_MS.load(std::sync::atomic::Ordering::Relaxed);
    crate::fsutil::lock_file_within(&path, Duration::from_millis(patience))
        .map_err(|e| Error::io(&path, e))?
        .ok_or(Error::LockTimeout(patience.div_ceil(1000)))
}

/// Loads the corpus from `corpus_dir` and builds a new generation from it, waiting for any
/// build already running (in this or another process) to finish first, for at most the lock
/// patience ([`set_lock_patience`]; then [`Error::LockTimeout`]).
///
/// Fails with [`Error::Corpus`], naming every bad file, without touching the served index.
pub fn rebuild(corpus_dir: &Path, index_dir: &Path, embedder: &Embedder) -> Result<BuildReport> {
    rebuild_inner(corpus_dir, index_dir, embedder, true)
}

/// Like [`rebuild`], but fails at once with [`Error::Busy`] when another build is running.
pub fn try_rebuild(
    corpus_dir: &Path,
    index_dir: &Path,
    embedder: &Embedder,
) -> Result<BuildReport> {
    rebuild_inner(corpus_dir, index_dir, embedder, false)
}

fn rebuild_inner(
    corpus_dir: &Path,
    index_dir: &Path,
    embedder: &Embedder,
    wait: bool,
) -> Result<BuildReport> {
    std::fs::create_dir_all(index_dir).map_err(|e| Error::io(index_dir, e))?;
    claim(index_dir)?;
    let _lock = lock(index_dir, wait)?;
    // Fingerprint before loading: an edit made during the build then makes the index look
    // stale and causes another build, rather than being silently missed.
    let fp = fingerprint(corpus_dir, index_dir)?;
    let corpus = corpus::load(corpus_dir)?;
    if !corpus.problems.is_empty() {
        return Err(Error::Corpus(corpus.problems));
    }
    build_locked(&corpus, index_dir, fp, embedder)
}

fn build_locked(
    corpus: &Corpus,
    index_dir: &Path,
    fingerprint: String,
    embedder: &Embedder,
) -> Result<BuildReport> {
    let previous = read_manifest(index_dir).ok().flatten();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let generation = format!("gen-{}-{}", now.as_nanos(), std::process::id());
    let gen_dir = index_dir.join(&generation);
    std::fs::create_dir(&gen_dir).map_err(|e| Error::io(&gen_dir, e))?;
    // Marked first, so that every directory this program may delete carries the mark.
    let mark = gen_dir.join(GENERATION_MARK);
    std::fs::write(&mark, MARK_TEXT).map_err(|e| Error::io(&mark, e))?;
    let built = write_generation(
        corpus,
        index_dir,
        &gen_dir,
        &generation,
        previous,
        fingerprint,
        embedder,
        now,
    );
    let served = || {
        read_manifest(index_dir)
            .ok()
            .flatten()
            .is_some_and(|m| m.generation == generation)
    };
    if built.is_err() && !served() {
        // A failed build (disk full, a model error) leaves nothing behind; the served
        // generation is untouched.
        if let Err(e) = std::fs::remove_dir_all(&gen_dir) {
            tracing::warn!(path = %gen_dir.display(), error = %e, "could not remove a failed generation");
        }
    }
    built
}

/// Writes the generation `generation` into its (marked, empty) directory and commits it.
#[allow(clippy::too_many_arguments)]
fn write_generation(
    corpus: &Corpus,
    index_dir: &Path,
    gen_dir: &Path,
    generation: &str,
    previous: Option<Manifest>,
    fingerprint: String,
    embedder: &Embedder,
    now: Duration,
) -> Result<BuildReport> {
    let started = Instant::now();
    let generation = generation.to_string();

    let (schema, f) = schema();
    let index = Index::create_in_dir(gen_dir, schema)?;
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 50_000_000)?;
    // The analyser the fields are indexed with, for each passage's stored term list.
    let mut analyzer = index
        .tokenizers()
        .get(TOKENIZER)
        .ok_or_else(|| Error::BadIndex {
            path: gen_dir.to_path_buf(),
            message: format!("tokenizer {TOKENIZER} is not registered"),
        })?;
    let mut documents = Vec::new();
    for doc in &corpus.documents {
        let mut h = Sha256::new();
        // One title per document: analysed once, stored with each of its passages.
        let title_terms = terms_of(&mut analyzer, &doc.meta.title);
        for p in &doc.passages {
            let section = p.section_path();
            let mut d = TantivyDocument::default();
            d.add_text(f.id, &p.id);
            d.add_text(f.doc, &doc.slug);
            d.add_text(f.document, &doc.meta.title);
            d.add_text(f.section, &section);
            d.add_text(f.url, &p.url);
            d.add_text(f.kind, doc.meta.kind.as_str());
            d.add_text(f.tags, doc.meta.tags.join(", "));
            d.add_text(f.text, &p.text);
            d.add_u64(f.page, p.page.map_or(0, u64::from));
            // Text and section path together, exactly what a hit's matched terms are read from.
            d.add_text(
                f.terms,
                terms_of(&mut analyzer, &format!("{}\n{section}", p.text)),
            );
            d.add_text(f.title_terms, &title_terms);
            writer.add_document(d)?;
            for part in [&p.id, &section, &p.url, &p.text] {
                h.update(part.as_bytes());
                h.update([0]);
            }
        }
        h.update(format!("{:?}", doc.meta).as_bytes());
        documents.push(DocInfo {
            slug: doc.slug.clone(),
            title: doc.meta.title.clone(),
            url: doc.meta.source_url.clone(),
            kind: doc.meta.kind.as_str().to_string(),
            published: doc.meta.published.clone(),
            reviewed: doc.meta.reviewed.clone(),
            review_due: doc.meta.review_due.clone(),
            summary: doc.meta.summary.clone(),
            tags: doc.meta.tags.clone(),
            passages: doc.passages.len(),
            hash: hex(&h.finalize()),
        });
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    // Vectors of texts an earlier build embedded are reused: reindexing after one posted
    // resource embeds one passage, not the whole corpus and every example again.
    vectors::load_cache(index_dir, embedder);
    let t = Instant::now();
    let passages: Vec<(&str, String)> = corpus
        .documents
        .iter()
        .flat_map(|d| d.passages.iter())
        .map(|p| (p.id.as_str(), format!("{}: {}", p.section_path(), p.text)))
        .collect();
    vectors::write_passages(gen_dir, vectors::PASSAGES, &passages, embedder)?;
    // Each phrasing points at every passage of its section.
    let phrasings: Vec<(&str, String)> = corpus
        .documents
        .iter()
        .flat_map(|d| d.passages.iter())
        .flat_map(|p| {
            let asks = corpus.phrasings.of(section_of(&p.id));
            asks.iter().map(move |a| (p.id.as_str(), a.clone()))
        })
        .collect();
    vectors::write_passages(gen_dir, vectors::PHRASINGS, &phrasings, embedder)?;
    // The pieces an answer line is chosen from, embedded now so that choosing costs a few dot
    // products per question instead of a pass of the model per sentence.
    let line_asks = corpus.line_phrasings.by_section();
    let (pieces, asks): (Vec<Vec<String>>, Vec<vectors::PieceAsks>) = corpus
        .documents
        .iter()
        .flat_map(|d| d.passages.iter())
        .map(|p| {
            let heading = p.section.last().map_or("", String::as_str);
            let units: Vec<String> = answer_units(&p.text, heading)
                .into_iter()
                .map(|u| u.text)
                .collect();
            // Each piece's line phrasings, by the piece's index in the passage.
            let entries = line_asks
                .get(section_of(&p.id))
                .map_or(&[][..], Vec::as_slice);
            let asks = units
                .iter()
                .enumerate()
                .flat_map(|(k, u)| {
                    line_phrasings::asks_for(entries, u).map(move |a| (k as u16, a.to_string()))
                })
                .collect();
            (units, asks)
        })
        .unzip();
    vectors::write_units(gen_dir, &pieces, &asks, embedder)?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "passage vectors");
    let t = Instant::now();
    // The loader already refused missing or invalid safety files; `unwrap_or_default` only
    // covers a `Corpus` built by hand, which then gets the built-in lists alone.
    let examples = safety::training_examples(corpus.safety_examples.as_deref().unwrap_or_default());
    let phrases = corpus.safety_phrases.clone().unwrap_or_default();
    // Training is deterministic, so the same inputs give the same detector: reuse the served
    // one when nothing it learns from changed (posting a resource then costs one passage's
    // vector, not a retraining).
    let detector_inputs = detector_inputs(embedder, &examples, &phrases);
    let detector = match previous.as_ref() {
        Some(m) if m.detector_inputs == detector_inputs => m.detector.clone(),
        _ => {
            let d = Detector::train(embedder, phrases, &examples, DISTRESS_RECALL_TARGET)?;
            tracing::debug!(
                ms = t.elapsed().as_millis() as u64,
                "distress detector trained"
            );
            d
        }
    };
    let t = Instant::now();
    let scope_inputs = scope_inputs(embedder, corpus);
    let (scope, sections) = match previous.as_ref() {
        Some(m) if m.scope_inputs == scope_inputs => (m.scope.clone(), m.sections.clone()),
        _ => {
            let s = Scope::train(embedder, &corpus.phrasings, &corpus.out_of_scope)?;
            let k = SectionModel::train(embedder, &corpus.phrasings)?;
            tracing::debug!(
                ms = t.elapsed().as_millis() as u64,
                "scope and section models trained"
            );
            (s, k)
        }
    };
    let used: Vec<[u8; 32]> = passages
        .iter()
        .chain(&phrasings)
        .map(|(_, t)| t.as_str())
        .chain(pieces.iter().flatten().map(String::as_str))
        .chain(examples.iter().map(|e| e.text.as_str()))
        .chain(corpus.out_of_scope.questions())
        .map(Embedder::key)
        .chain(
            (corpus.phrasings.sections.iter())
                .flat_map(|(_, asks, _)| asks.iter().map(String::as_str))
                .map(Embedder::question_key),
        )
        .chain(examples.iter().map(|e| embedder.logit_key(&e.text)))
        .collect();
    vectors::save_cache(index_dir, embedder, &used);
    crate::testing::pause_point("index-generation-written");
    crate::testing::fail_point("index-generation-written")?;

    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        generation: generation.clone(),
        fingerprint,
        built_at: now.as_secs(),
        documents,
        thesaurus: corpus.thesaurus.entries.clone(),
        model: embedder.id().to_string(),
        detector,
        detector_inputs,
        scope,
        sections,
        scope_inputs,
    };
    write_manifest(index_dir, &manifest)?;
    remove_old_generations(index_dir, &generation, previous.as_ref());

    let changes = diff(previous.as_ref(), &manifest);
    Ok(BuildReport {
        documents: manifest.documents.len(),
        passages: manifest.passage_count(),
        changes,
        elapsed: started.elapsed(),
    })
}

/// What the distress detector depends on, hashed. Bump [`SCHEMA_VERSION`] when the training
/// code changes, so no build reuses a detector trained by older code.
fn detector_inputs(
    embedder: &Embedder,
    examples: &[safety::Example],
    phrases: &safety::Phrases,
) -> String {
    let mut h = Sha256::new();
    h.update(SCHEMA_VERSION.to_le_bytes());
    h.update(DISTRESS_RECALL_TARGET.to_le_bytes());
    // The threshold is chosen on scores that mix in the top's logit at its share.
    // The regression's settings are hashed too, so changing one retrains the detector.
    for x in [
        crate::classifier::TUNED_WEIGHT,
        crate::classifier::C,
        crate::classifier::DENSE_WEIGHT,
    ] {
        h.update(x.to_le_bytes());
    }
    h.update(embedder.id().as_bytes());
    for e in examples {
        h.update([u8::from(e.distress)]);
        h.update(e.text.as_bytes());
        h.update([0]);
    }
    h.update(safety::BUILTIN_PHRASES.as_bytes());
    h.update(serde_json::to_vec(phrases).expect("phrases serialise"));
    hex(&h.finalize())
}

/// What the scope and section models depend on, hashed, as [`detector_inputs`] is for the
/// detector.
fn scope_inputs(embedder: &Embedder, corpus: &Corpus) -> String {
    let mut h = Sha256::new();
    h.update(SCHEMA_VERSION.to_le_bytes());
    h.update(embedder.id().as_bytes());
    for (_, asks, _) in &corpus.phrasings.sections {
        for a in asks {
            h.update(a.as_bytes());
            h.update([0]);
        }
    }
    h.update([1]);
    for q in corpus.out_of_scope.questions() {
        h.update(q.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

fn write_manifest(index_dir: &Path, manifest: &Manifest) -> Result<()> {
    let tmp = index_dir.join(format!("{MANIFEST}.tmp-{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(manifest).expect("manifest serialises");
    let dest = index_dir.join(MANIFEST);
    crate::fsutil::write_atomically(&tmp, &dest, &bytes, "index-manifest-written")
        .map_err(|e| Error::io(&dest, e))
}

/// Keeps the new and the previous generation (a process may still be reading it) and removes
/// the rest, including half-written ones left by a crashed build. Best effort: a failure here
/// costs disk space, never correctness.
/// The file every generation directory this program writes holds, written before anything
/// else: only a `gen-*` directory holding it is ever deleted.
const GENERATION_MARK: &str = "ohwb-bot-generation";
/// The file that marks a directory as an ohwb-bot index directory.
pub(crate) const INDEX_MARK: &str = ".ohwb-bot-index";
const MARK_TEXT: &str = "Written by ohwb-bot. Do not put your own files in this directory: \
ohwb-bot deletes old index generations from it.\n";

/// Refuses to build into a directory that is neither empty nor already an ohwb-bot index
/// (pointing `--index` at a shared folder must not put its files at risk), and marks it.
fn claim(index_dir: &Path) -> Result<()> {
    let mark = index_dir.join(INDEX_MARK);
    if mark.is_file() {
        return Ok(());
    }
    let entries: Vec<String> = std::fs::read_dir(index_dir)
        .map_err(|e| Error::io(index_dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // An index written before the mark existed has a manifest that parses; a directory may
    // also hold only files this program names (a vector cache copied in to save a build), or
    // the `.gitignore` the repository ships in its default `index/`, so a fresh clone builds.
    let older_index = read_manifest(index_dir).ok().flatten().is_some();
    let only_ours = entries.iter().all(|n| {
        n == vectors::CACHE || n == ".lock" || n == super::STAT_CACHE || n == ".gitignore"
    });
    if !only_ours && !older_index {
        return Err(Error::BadIndex {
            path: index_dir.to_path_buf(),
            message: format!(
                "this directory is not empty and is not an ohwb-bot index (it has no {INDEX_MARK} \
                 file), so nothing will be built or deleted in it: choose an empty or new \
                 directory for --index or paths.index"
            ),
        });
    }
    std::fs::write(&mark, MARK_TEXT).map_err(|e| Error::io(&mark, e))
}

/// Whether `path` is a temporary manifest or cache this program wrote: its name, and for a
/// manifest its opening bytes, say so.
fn own_temporary(path: &Path, name: &str) -> bool {
    if name.starts_with(&format!("{}.tmp-", vectors::CACHE))
        || name.starts_with(&format!("{}.tmp-", super::STAT_CACHE))
    {
        return true;
    }
    if !name.starts_with(&format!("{MANIFEST}.tmp-")) {
        return false;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    // Empty when the write was cut short before any byte landed.
    n == 0 || String::from_utf8_lossy(&head[..n]).contains("\"schema_version\"")
}

fn remove_old_generations(index_dir: &Path, current: &str, previous: Option<&Manifest>) {
    let keep: HashSet<&str> = [Some(current), previous.map(|m| m.generation.as_str())]
        .into_iter()
        .flatten()
        .collect();
    // The generation the previous manifest named is this program's even when it was written
    // before generations were marked; mark it so a later build can remove it.
    if let Some(m) = previous {
        let dir = index_dir.join(&m.generation);
        if dir.is_dir() && !dir.join(GENERATION_MARK).exists() {
            let _ = std::fs::write(dir.join(GENERATION_MARK), MARK_TEXT);
        }
    }
    let Ok(entries) = std::fs::read_dir(index_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let old_generation = name.starts_with("gen-")
            && !keep.contains(name.as_str())
            && path.join(GENERATION_MARK).is_file();
        if old_generation || own_temporary(&path, &name) {
            let result = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if let Err(e) = result {
                tracing::warn!(path = %path.display(), error = %e, "could not remove old index generation");
            }
        }
    }
}

fn diff(old: Option<&Manifest>, new: &Manifest) -> Changes {
    let old: BTreeMap<&str, &str> = old
        .map(|m| {
            m.documents
                .iter()
                .map(|d| (d.slug.as_str(), d.hash.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let new_map: BTreeMap<&str, &str> = new
        .documents
        .iter()
        .map(|d| (d.slug.as_str(), d.hash.as_str()))
        .collect();
    let mut c = Changes::default();
    for (slug, hash) in &new_map {
        match old.get(slug) {
            None => c.added.push(slug.to_string()),
            Some(h) if h != hash => c.updated.push(slug.to_string()),
            _ => {}
        }
    }
    c.removed = old
        .keys()
        .filter(|s| !new_map.contains_key(*s))
        .map(|s| s.to_string())
        .collect();
    c
}
