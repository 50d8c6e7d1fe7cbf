//! Builds, stores and searches the tantivy passage index under `index/`.
//!
//! # Layout on disk
//! ```text
//! index/
//!   current.json      manifest of the generation being served (written last, atomically)
//!   gen-<ns>-<pid>/   one complete tantivy index per build, plus `vectors.bin`: one sentence
//!                     vector per passage (see [`crate::embed`])
//!   .lock             held while a build runs: one builder at a time
//! ```
//!
//! Invariants:
//! - A build writes a new generation directory, commits it, and only then replaces
//!   `current.json` by rename. A build that fails (a bad corpus file, a crash, SIGKILL) leaves
//!   the previous `current.json` and its generation untouched; leftovers are removed by the
//!   next successful build.
//! - A generation is never modified after its commit, so readers use `ReloadPolicy::Manual` and
//!   a `SearchIndex` can be shared across threads for the life of the process; every search takes
//!   a fresh `Searcher` from the one `IndexReader`.
//! - The manifest's `fingerprint` hashes every corpus file plus [`SCHEMA_VERSION`]: bump that
//!   constant whenever passage splitting or the schema changes, so old indexes are rebuilt.
//! - A generation records the embedding model it was built with; a generation built with another
//!   model is stale, like one built from another corpus, because its passage vectors and its
//!   distress classifier only make sense with that model.
//! - Every build trains the distress detector ([`crate::safety::Detector`]) from the built-in
//!   and the trust's examples (or reuses the served one when nothing it learns from changed:
//!   training is deterministic) and stores it in the manifest, beside the thesaurus: the served
//!   index and its safety lists always match.
//! - Searching is blocking CPU work: async callers run it under `spawn_blocking`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::corpus::{self, Corpus};
use crate::embed::{Embedder, DIM};
use crate::safety::{self, Assessment, Detector};
use crate::vectors;
use crate::{Error, Result};

/// Bump when the schema or passage splitting changes: every existing index is then rebuilt.
pub const SCHEMA_VERSION: u32 = 4;
const MANIFEST: &str = "current.json";
/// Recall on held-out folds of the examples that the distress threshold is chosen for. Chosen on
/// the dev split of `tests/eval/distress.toml`: 0.98 gave the same dev recall (98.3 %) with
/// 14 % false alarms instead of 10 %; 0.96 lost recall (97.4 %).
pub const DISTRESS_RECALL_TARGET: f32 = 0.97;
const TOKENIZER: &str = "en_stem";
const SNIPPET_CHARS: usize = 220;

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    doc: Field,
    document: Field,
    section: Field,
    url: Field,
    kind: Field,
    tags: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let stemmed = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        doc: b.add_text_field("doc", STRING | STORED),
        document: b.add_text_field("document", stemmed.clone()),
        section: b.add_text_field("section", stemmed.clone()),
        url: b.add_text_field("url", STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        tags: b.add_text_field("tags", stemmed.clone()),
        text: b.add_text_field("text", stemmed),
    };
    (b.build(), fields)
}

/// One indexed document, as listed by `/sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocInfo {
    /// Document slug (file stem); what `source` filters take.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Source link.
    pub url: String,
    /// `strategy`, `background` or `resource`.
    pub kind: String,
    /// Publication date at the precision known.
    pub published: String,
    /// Front-matter summary, if any.
    pub summary: Option<String>,
    /// Tags from front matter.
    #[serde(default)]
    pub tags: Vec<String>,
    /// How many passages it was split into.
    pub passages: usize,
    /// Hash of the document's passages, to report what a rebuild changed.
    pub hash: String,
}

/// What `current.json` records about the generation being served.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] at build time.
    pub schema_version: u32,
    /// Directory name of the generation.
    pub generation: String,
    /// Hash of the corpus the generation was built from.
    pub fingerprint: String,
    /// Seconds since the Unix epoch.
    pub built_at: u64,
    /// Documents in corpus order.
    pub documents: Vec<DocInfo>,
    /// The thesaurus the generation was built with (normalised key → alternatives).
    #[serde(default)]
    pub thesaurus: BTreeMap<String, Vec<String>>,
    /// [`crate::embed::Embedder::id`] of the model the vectors and the classifier come from.
    pub model: String,
    /// Distress detection as trained for this generation.
    pub detector: Detector,
    /// Hash of everything the detector was trained from (model, examples, phrases, recall
    /// target, [`SCHEMA_VERSION`]); a build with the same hash reuses the detector.
    pub detector_inputs: String,
}

impl Manifest {
    /// The document a user named, by slug or by title (case-insensitive).
    pub fn find_document(&self, wanted: &str) -> Option<&DocInfo> {
        let w = wanted.trim().to_lowercase();
        self.documents
            .iter()
            .find(|d| d.slug == w || d.title.to_lowercase() == w)
    }

    /// Total passages.
    pub fn passage_count(&self) -> usize {
        self.documents.iter().map(|d| d.passages).sum()
    }
}

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

/// Hashes every file under the corpus directory (paths and bytes) with [`SCHEMA_VERSION`].
pub fn fingerprint(corpus_dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    corpus::walk(corpus_dir, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    h.update(SCHEMA_VERSION.to_le_bytes());
    for f in files {
        let rel = f.strip_prefix(corpus_dir).unwrap_or(&f);
        let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `current.json`, or `None` when no index was ever built there.
pub fn read_manifest(index_dir: &Path) -> Result<Option<Manifest>> {
    let path = index_dir.join(MANIFEST);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::BadIndex {
                path: path.clone(),
                message: format!("unreadable manifest: {e}; run `ohwb-bot index` to rebuild"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn lock(index_dir: &Path, wait: bool) -> Result<crate::fsutil::LockFile> {
    let path = index_dir.join(".lock");
    crate::fsutil::lock_file(&path, wait)
        .map_err(|e| Error::io(&path, e))?
        .ok_or(Error::Busy)
}

/// Loads the corpus from `corpus_dir` and builds a new generation from it, waiting for any
/// build already running (in this or another process) to finish first.
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
    let _lock = lock(index_dir, wait)?;
    // Fingerprint before loading: an edit made during the build then makes the index look
    // stale and causes another build, rather than being silently missed.
    let fp = fingerprint(corpus_dir)?;
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
    let started = Instant::now();
    let previous = read_manifest(index_dir).ok().flatten();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let generation = format!("gen-{}-{}", now.as_nanos(), std::process::id());
    let gen_dir = index_dir.join(&generation);
    std::fs::create_dir_all(&gen_dir).map_err(|e| Error::io(&gen_dir, e))?;

    let (schema, f) = schema();
    let index = Index::create_in_dir(&gen_dir, schema)?;
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 50_000_000)?;
    let mut documents = Vec::new();
    for doc in &corpus.documents {
        let mut h = Sha256::new();
        for p in &doc.passages {
            let mut d = TantivyDocument::default();
            d.add_text(f.id, &p.id);
            d.add_text(f.doc, &doc.slug);
            d.add_text(f.document, &doc.meta.title);
            d.add_text(f.section, p.section_path());
            d.add_text(f.url, &p.url);
            d.add_text(f.kind, doc.meta.kind.as_str());
            d.add_text(f.tags, doc.meta.tags.join(", "));
            d.add_text(f.text, &p.text);
            writer.add_document(d)?;
            for part in [&p.id, &p.section_path(), &p.url, &p.text] {
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
    vectors::write_passages(&gen_dir, &passages, embedder)?;
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
    let used: Vec<&str> = passages
        .iter()
        .map(|(_, t)| t.as_str())
        .chain(examples.iter().map(|e| e.text.as_str()))
        .collect();
    vectors::save_cache(index_dir, embedder, &used);
    crate::testing::pause_point("index-generation-written");

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
fn remove_old_generations(index_dir: &Path, current: &str, previous: Option<&Manifest>) {
    let keep: HashSet<&str> = [Some(current), previous.map(|m| m.generation.as_str())]
        .into_iter()
        .flatten()
        .collect();
    let Ok(entries) = std::fs::read_dir(index_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale_tmp = name.starts_with(&format!("{MANIFEST}.tmp-"))
            || name.starts_with(&format!("{}.tmp-", vectors::CACHE));
        if (name.starts_with("gen-") && !keep.contains(name.as_str())) || stale_tmp {
            let path = entry.path();
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

/// Whether [`open_fresh`] had to rebuild.
#[derive(Debug)]
pub enum Freshness {
    /// The index matched the corpus.
    UpToDate,
    /// The corpus had changed (or there was no index) and a new generation was built.
    Rebuilt(BuildReport),
    /// The corpus changed but has problems: the previous index is served unchanged.
    StaleCorpusInvalid(Vec<corpus::Problem>),
}

/// Opens the index, rebuilding it first when the corpus changed since it was built.
///
/// A corpus with problems never replaces a working index: the old one is served and the
/// problems are returned. Without any index, a bad corpus is an error.
pub fn open_fresh(
    corpus_dir: &Path,
    index_dir: &Path,
    embedder: &Arc<Embedder>,
) -> Result<(SearchIndex, Freshness)> {
    let fp = fingerprint(corpus_dir)?;
    let manifest = read_manifest(index_dir).unwrap_or(None);
    let fresh = manifest.as_ref().is_some_and(|m| {
        m.fingerprint == fp && m.schema_version == SCHEMA_VERSION && m.model == embedder.id()
    });
    if fresh {
        if let Ok(index) = SearchIndex::open(index_dir, embedder.clone()) {
            return Ok((index, Freshness::UpToDate));
        }
    }
    match rebuild(corpus_dir, index_dir, embedder) {
        Ok(report) => Ok((
            SearchIndex::open(index_dir, embedder.clone())?,
            Freshness::Rebuilt(report),
        )),
        Err(Error::Corpus(problems)) if manifest.is_some() => {
            let index = SearchIndex::open(index_dir, embedder.clone())?;
            Ok((index, Freshness::StaleCorpusInvalid(problems)))
        }
        Err(e) => Err(e),
    }
}

fn vocabulary(reader: &IndexReader, f: &Fields) -> Result<Vec<String>> {
    let searcher = reader.searcher();
    let mut words = std::collections::BTreeSet::new();
    for segment in searcher.segment_readers() {
        for field in [f.text, f.section, f.document, f.tags] {
            let inverted = segment.inverted_index(field)?;
            let mut stream = inverted.terms().stream().map_err(|e| Error::BadIndex {
                path: PathBuf::new(),
                message: e.to_string(),
            })?;
            while stream.advance() {
                if let Ok(w) = std::str::from_utf8(stream.key()) {
                    words.insert(w.to_string());
                }
            }
        }
    }
    Ok(words.into_iter().collect())
}

/// One way of saying an idea: analysed terms (lowercased, stemmed), scored together, times
/// `weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryForm {
    /// Analysed terms; a passage scores for each it contains.
    pub terms: Vec<String>,
    /// Multiplies the form's BM25 contribution.
    pub weight: f32,
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// One group per idea in the question. A passage scores for a group by its best-matching
    /// form (plus a small share of the others), so saying one thing two ways ("ICS" and
    /// "integrated care system") does not count twice.
    pub groups: Vec<Vec<QueryForm>>,
    /// Adjacent term pairs from the question, with a weight: a passage that contains the
    /// words next to each other ("leadership programme") scores above one that merely has both.
    pub phrases: Vec<(String, String, f32)>,
    /// Restrict to one document slug.
    pub document: Option<String>,
    /// Maximum hits.
    pub limit: usize,
}

impl SearchRequest {
    /// One group per term, each of weight 1: a plain bag-of-words search.
    pub fn words(terms: Vec<String>, limit: usize) -> SearchRequest {
        SearchRequest {
            groups: terms
                .into_iter()
                .map(|t| {
                    vec![QueryForm {
                        terms: vec![t],
                        weight: 1.0,
                    }]
                })
                .collect(),
            limit,
            ..SearchRequest::default()
        }
    }

    fn all_terms(&self) -> impl Iterator<Item = (&String, f32)> {
        self.groups
            .iter()
            .flatten()
            .flat_map(|f| f.terms.iter().map(move |t| (t, f.weight)))
    }
}

/// Share of a group's weaker forms added to its best one.
const TIE_BREAKER: f32 = 0.1;

/// A matching passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Passage id.
    pub passage_id: String,
    /// Document slug.
    pub doc_slug: String,
    /// Document title.
    pub document: String,
    /// Section path, `A › B`.
    pub section: String,
    /// Link to cite.
    pub url: String,
    /// Document kind.
    pub kind: String,
    /// Passage text.
    pub text: String,
    /// BM25 score with field boosts.
    pub score: f32,
    /// Best fragment of the text, and byte ranges of matched words within it.
    pub snippet: (String, Vec<std::ops::Range<usize>>),
    /// Which query terms occur in the passage text or its section path. The document title and
    /// tags are left out on purpose: they are shared by every passage of a document, so they
    /// help ranking but say nothing about whether this passage covers the question.
    pub matched: Vec<String>,
    /// Which query terms occur in the document's title.
    pub matched_title: Vec<String>,
}

/// Field boosts: where a word appears says how much the passage is about it.
const BOOSTS: [(&str, f32); 4] = [
    ("text", 1.0),
    ("section", 2.0),
    ("document", 1.5),
    ("tags", 0.5),
];

/// An open generation, shareable across threads.
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    manifest: Manifest,
    analyzer: TextAnalyzer,
    /// Every analysed term in text, section, title and tags, sorted; for typo correction.
    vocabulary: Vec<String>,
    /// The model the generation was built with.
    embedder: Arc<Embedder>,
    /// Passage ids in corpus order, and their vectors ([`DIM`] floats each, concatenated).
    vector_ids: Vec<String>,
    vectors: Vec<f32>,
}

impl SearchIndex {
    /// Opens the generation named by `index_dir/current.json`, which must have been built with
    /// `embedder`'s model.
    pub fn open(index_dir: &Path, embedder: Arc<Embedder>) -> Result<Self> {
        let manifest =
            read_manifest(index_dir)?.ok_or_else(|| Error::NoIndex(index_dir.to_path_buf()))?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(Error::BadIndex {
                path: index_dir.to_path_buf(),
                message: "built by another version; run `ohwb-bot index`".into(),
            });
        }
        if manifest.model != embedder.id() {
            return Err(Error::BadIndex {
                path: index_dir.to_path_buf(),
                message: "built with another embedding model; run `ohwb-bot index`".into(),
            });
        }
        let gen_dir: PathBuf = index_dir.join(&manifest.generation);
        let index = Index::open_in_dir(&gen_dir).map_err(|e| Error::BadIndex {
            path: gen_dir.clone(),
            message: format!("{e}; run `ohwb-bot index` to rebuild"),
        })?;
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let analyzer = index
            .tokenizers()
            .get(TOKENIZER)
            .ok_or_else(|| Error::BadIndex {
                path: gen_dir,
                message: "missing tokenizer".into(),
            })?;
        let vocabulary = vocabulary(&reader, &fields)?;
        let (vector_ids, vectors) = vectors::read_passages(&index_dir.join(&manifest.generation))?;
        Ok(SearchIndex {
            reader,
            fields,
            manifest,
            analyzer,
            vocabulary,
            embedder,
            vector_ids,
            vectors,
        })
    }

    /// The embedding model this generation was built with.
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// What `message` needs (crisis, support, or an answer): [`Detector::assess`] with this
    /// generation's detector and model.
    pub fn assess(&self, message: &str) -> Result<Assessment> {
        self.manifest.detector.assess(&self.embedder, message)
    }

    /// The stored vector of a passage, by id.
    pub fn passage_vector(&self, passage_id: &str) -> Option<&[f32]> {
        let i = self.vector_ids.iter().position(|id| id == passage_id)?;
        self.vectors.get(i * DIM..(i + 1) * DIM)
    }

    /// Every analysed term the index knows, sorted.
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// How many passages contain `term` in any searched field (analysed form).
    pub fn any_field_freq(&self, term: &str) -> u64 {
        let searcher = self.reader.searcher();
        [
            self.fields.text,
            self.fields.section,
            self.fields.document,
            self.fields.tags,
        ]
        .iter()
        .map(|&f| {
            searcher
                .doc_freq(&Term::from_field_text(f, term))
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
    }

    /// The manifest of the generation being served.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Lowercases and stems `text` the way the index does, in order, duplicates kept.
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// Number of passages in the index.
    pub fn num_passages(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn field(&self, name: &str) -> Field {
        match name {
            "section" => self.fields.section,
            "document" => self.fields.document,
            "tags" => self.fields.tags,
            _ => self.fields.text,
        }
    }

    fn build_query(&self, req: &SearchRequest) -> Box<dyn Query> {
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for group in &req.groups {
            let forms: Vec<Box<dyn Query>> = group
                .iter()
                .map(|form| {
                    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                    for t in &form.terms {
                        for (name, boost) in BOOSTS {
                            let term = Term::from_field_text(self.field(name), t);
                            let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
                            clauses.push((
                                Occur::Should,
                                Box::new(BoostQuery::new(Box::new(q), boost)),
                            ));
                        }
                    }
                    Box::new(BoostQuery::new(
                        Box::new(BooleanQuery::new(clauses)),
                        form.weight,
                    )) as Box<dyn Query>
                })
                .collect();
            should.push((
                Occur::Should,
                Box::new(DisjunctionMaxQuery::with_tie_breaker(forms, TIE_BREAKER)),
            ));
        }
        for (a, b, weight) in &req.phrases {
            for (name, boost) in [("text", 1.0), ("section", 2.0)] {
                let field = self.field(name);
                let phrase = PhraseQuery::new(vec![
                    Term::from_field_text(field, a),
                    Term::from_field_text(field, b),
                ]);
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(phrase), boost * weight)),
                ));
            }
        }
        let any = Box::new(BooleanQuery::new(should));
        match &req.document {
            Some(slug) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, any),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.doc, slug),
                        IndexRecordOption::Basic,
                    )),
                ),
            ])),
            None => any,
        }
    }

    /// Best passages for the request, best first. Never fails on odd input: an empty request
    /// returns no hits.
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<Hit>> {
        if req.groups.is_empty() || req.limit == 0 {
            return Ok(Vec::new());
        }
        let query = self.build_query(req);
        let searcher = self.reader.searcher();
        let top = searcher.search(&*query, &TopDocs::with_limit(req.limit).order_by_score())?;
        let mut weights: BTreeMap<String, f32> = BTreeMap::new();
        for (t, w) in req.all_terms() {
            let e = weights.entry(t.clone()).or_insert(0.0);
            *e = e.max(w);
        }
        let mut snippets = SnippetGenerator::new(
            weights,
            self.analyzer.clone(),
            self.fields.text,
            SNIPPET_CHARS,
        );
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let wanted: HashSet<&str> = req.all_terms().map(|(t, _)| t.as_str()).collect();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let get = |f: Field| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let text = get(self.fields.text);
            let section = get(self.fields.section);
            let document = get(self.fields.document);
            // Which wanted terms occur in `of`, sorted for stable output.
            let wanted_in = |of: &str| {
                let present: HashSet<String> = self.analyze(of).into_iter().collect();
                let mut found: Vec<String> = wanted
                    .iter()
                    .filter(|t| present.contains(**t))
                    .map(|t| t.to_string())
                    .collect();
                found.sort();
                found
            };
            let matched = wanted_in(&format!("{text}\n{section}"));
            let matched_title = wanted_in(&document);
            let snippet = snippets.snippet(&text);
            let snippet = if snippet.fragment().is_empty() {
                let cut = crate::text::truncate_words(&text, SNIPPET_CHARS);
                crate::text::collapse_whitespace(&cut, &[])
            } else {
                let range = snippet.fragment_range();
                let (mut frag, mut marks) =
                    crate::text::collapse_whitespace(snippet.fragment(), snippet.highlighted());
                if range.start > 0 {
                    frag.insert(0, '…');
                    let shift = "…".len();
                    marks
                        .iter_mut()
                        .for_each(|r| *r = r.start + shift..r.end + shift);
                }
                if range.end < text.len() {
                    frag.push('…');
                }
                (frag, marks)
            };
            hits.push(Hit {
                passage_id: get(self.fields.id),
                doc_slug: get(self.fields.doc),
                document,
                section,
                url: get(self.fields.url),
                kind: get(self.fields.kind),
                text,
                score,
                snippet,
                matched,
                matched_title,
            });
        }
        Ok(hits)
    }
}
