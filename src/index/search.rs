//! Searching an open generation: BM25 with field boosts over analysed terms (never parsed
//! query syntax), snippets, and the generation's passage vectors and distress detector.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use super::split::split_scan;
use super::{read_manifest, schema, Fields, Manifest, SCHEMA_VERSION, SNIPPET_CHARS, TOKENIZER};
use crate::embed::{Embedder, DIM};
use crate::quantised::{CodedQuery, Codes};
use crate::safety::Assessment;
use crate::vectors;
use crate::{Error, Result};

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
    /// Link to cite (the page that states the passage's facts).
    pub url: String,
    /// The page of the original document the passage is on (PDFs).
    pub page: Option<u32>,
    /// Document kind.
    pub kind: String,
    /// Passage text.
    pub text: String,
    /// BM25 score with field boosts.
    pub score: f32,
    /// Which query terms occur in the passage text or its section path. The document title and
    /// tags are left out on purpose: they are shared by every passage of a document, so they
    /// help ranking but say nothing about whether this passage covers the question.
    pub matched: Vec<String>,
    /// Which query terms occur in the document's title.
    pub matched_title: Vec<String>,
}

/// The dense side of a search: best passages by cosine, and the spread of all cosines, which
/// says whether the best one stands out or the question is merely on-topic for the corpus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DenseHits {
    /// (passage id, cosine), best first.
    pub best: Vec<(String, f32)>,
    /// Mean cosine over every passage searched.
    pub mean: f32,
    /// Standard deviation of those cosines.
    pub std: f32,
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
    /// Passage ids in corpus order, and their vectors, coded ([`crate::quantised`]).
    vector_ids: Vec<String>,
    vectors: Codes,
    /// Position of each passage id in `vector_ids`.
    vector_pos: HashMap<String, usize>,
    /// Phrasing vectors, coded, and for each passage (by position) the indexes of its
    /// phrasings.
    phrasing_vectors: Codes,
    phrasings_of: Vec<Vec<usize>>,
    /// Vectors of each passage's answer pieces, read on demand.
    units: vectors::UnitVectors,
    /// Slugs of the documents the section model was trained on (see [`Self::knows_document`]).
    modelled_documents: HashSet<String>,
    /// Each document's date label for citations, by slug.
    document_dates: HashMap<String, String>,
}

/// A phrasing is a question, a passage is an answer: a question meets another question at a
/// higher cosine than it meets its answer, so phrasing matches count a little less (0.8 was
/// best of 0.8, 0.9 and 1.0 on dev; the answer line's sentences and their line phrasings
/// were flat from 0.7 to 1.0).
pub const PHRASING_WEIGHT: f32 = 0.8;

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
        let gen = index_dir.join(&manifest.generation);
        let (vector_ids, vectors) = vectors::read_passages(&gen, vectors::PASSAGES)?;
        let vector_pos: HashMap<String, usize> = vector_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let (phrasing_ids, phrasing_vectors) = vectors::read_passages(&gen, vectors::PHRASINGS)?;
        let mut phrasings_of = vec![Vec::new(); vector_ids.len()];
        for (k, id) in phrasing_ids.iter().enumerate() {
            if let Some(&i) = vector_pos.get(id) {
                phrasings_of[i].push(k);
            }
        }
        // Built once here: answering asks for these per citation and per candidate.
        let modelled_documents = manifest
            .sections
            .iter()
            .flat_map(|m| &m.sections)
            .filter_map(|s| s.split_once('/').map(|(slug, _)| slug.to_string()))
            .collect();
        let document_dates = manifest
            .documents
            .iter()
            .map(|d| (d.slug.clone(), d.dated()))
            .collect();
        Ok(SearchIndex {
            modelled_documents,
            document_dates,
            reader,
            fields,
            manifest,
            analyzer,
            vocabulary,
            embedder,
            vector_ids,
            vectors: Codes::new(&vectors, DIM),
            vector_pos,
            phrasing_vectors: Codes::new(&phrasing_vectors, DIM),
            phrasings_of,
            units: vectors::UnitVectors::open(&gen)?,
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

    /// The same decision without reading the message as a question ([`Detector::screen`]).
    pub fn screen(&self, message: &str) -> Result<Assessment> {
        self.manifest.detector.screen(&self.embedder, message)
    }

    /// How likely `question` (with its sentence `vector`) is one the documents answer, by this
    /// generation's scope model; `None` when it has none.
    pub fn scope(&self, question: &str, vector: &[f32]) -> Option<f32> {
        let scope = self.manifest.scope.as_ref()?;
        (scope.model == self.embedder.id()).then(|| scope.score(question, vector))
    }

    /// Whether this generation's section model learned any section of the document (it has
    /// phrasings), so the scope model knows what the document answers.
    pub fn knows_document(&self, slug: &str) -> bool {
        self.modelled_documents.contains(slug)
    }

    /// The date label ("published March 2023", …) of the document `slug` for its citations;
    /// empty for an unknown slug.
    pub fn document_dated(&self, slug: &str) -> &str {
        self.document_dates.get(slug).map_or("", String::as_str)
    }

    /// Each section's probability of being the one a question (its question `vector`,
    /// [`Embedder::embed_question`]) asks about, by this generation's section model; empty when
    /// it has none.
    pub fn section_probabilities(&self, vector: &[f32]) -> HashMap<&str, f32> {
        match &self.manifest.sections {
            Some(m) if m.model == self.embedder.id() => m
                .sections
                .iter()
                .map(String::as_str)
                .zip(m.probabilities(vector))
                .collect(),
            _ => HashMap::new(),
        }
    }

    /// How close `vector` is to the passage at position `i`: its cosine with the passage, or
    /// (weighted by [`PHRASING_WEIGHT`]) with the closest way staff ask for its section,
    /// whichever is higher.
    fn similarity_at(&self, vector: &CodedQuery, i: usize) -> f32 {
        let own = self.vectors.dot(vector, i).unwrap_or(0.0);
        let asked = self.phrasings_of[i]
            .iter()
            .filter_map(|&k| self.phrasing_vectors.dot(vector, k))
            .fold(f32::MIN, f32::max);
        own.max(PHRASING_WEIGHT * asked)
    }

    /// The vectors of a passage's answer pieces ([`crate::answer_units::answer_units`]), in
    /// order, and of their line phrasings; `None` for an unknown id or an unreadable file.
    pub fn unit_vectors(&self, passage_id: &str) -> Option<vectors::PieceVectors> {
        self.units.get(*self.vector_pos.get(passage_id)?)
    }

    /// [`SearchIndex::similarity_at`] by passage id (0 for an unknown id). The question is
    /// coded once by the caller ([`CodedQuery::new`]), not once per passage asked about.
    pub fn similarity(&self, vector: &CodedQuery, passage_id: &str) -> f32 {
        self.vector_pos
            .get(passage_id)
            .map_or(0.0, |&i| self.similarity_at(vector, i))
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
        let describe = self.describer(req);
        top.into_iter()
            .map(|(score, address)| describe(&searcher.doc(address)?, score))
            .collect()
    }

    /// The passages named by `ids` (unknown ids are skipped), described against `req` as
    /// [`SearchIndex::search`] would, with score 0: for passages the dense side found that
    /// share no word with the question.
    pub fn passages(&self, ids: &[&str], req: &SearchRequest) -> Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let describe = self.describer(req);
        let mut hits = Vec::with_capacity(ids.len());
        for id in ids {
            let q = TermQuery::new(
                Term::from_field_text(self.fields.id, id),
                IndexRecordOption::Basic,
            );
            if let Some((_, address)) = searcher
                .search(&q, &TopDocs::with_limit(1).order_by_score())?
                .into_iter()
                .next()
            {
                hits.push(describe(&searcher.doc(address)?, 0.0)?);
            }
        }
        Ok(hits)
    }

    /// Exact similarity ([`SearchIndex::similarity`]) of `vector` with every passage (of
    /// `document`, when given): the `limit` best as (passage id, similarity), best first, with
    /// the mean and standard deviation of all of them. Vectors are unit length, so the dot
    /// product is the cosine. A linear scan is right at this size (100k passages × 384
    /// dimensions ≈ 38M multiply-adds over 8-bit codes, [`crate::quantised`]: 38 MB read per
    /// question instead of 150 MB); at millions, an approximate index (HNSW, or IVF with
    /// product quantisation) would replace it behind this signature.
    pub fn dense(&self, vector: &[f32], document: Option<&str>, limit: usize) -> DenseHits {
        let prefix = document.map(|d| format!("{d}/"));
        let vector = CodedQuery::new(vector);
        let scan = |range: std::ops::Range<usize>| -> Vec<(usize, f32)> {
            range
                .filter(|&i| {
                    prefix
                        .as_deref()
                        .is_none_or(|p| self.vector_ids[i].starts_with(p))
                })
                .map(|i| (i, self.similarity_at(&vector, i)))
                .collect()
        };
        let mut scored = split_scan(self.vector_ids.len(), scan);
        let n = scored.len().max(1) as f32;
        let mean = scored.iter().map(|(_, c)| c).sum::<f32>() / n;
        let var = scored.iter().map(|(_, c)| (c - mean).powi(2)).sum::<f32>() / n;
        let keep = limit.min(scored.len());
        if keep > 0 && keep < scored.len() {
            scored.select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1));
            scored.truncate(keep);
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(keep);
        DenseHits {
            best: scored
                .into_iter()
                .map(|(i, c)| (self.vector_ids[i].clone(), c))
                .collect(),
            mean,
            std: var.sqrt(),
        }
    }

    /// The best fragment of a passage's `text` for `req`, and the byte ranges of the matched
    /// words within it. Computed for the few passages cited, not for every candidate: it
    /// re-analyses the text, which is most of the lexical path's cost when done 40 times.
    pub fn snippet(
        &self,
        req: &SearchRequest,
        text: &str,
    ) -> (String, Vec<std::ops::Range<usize>>) {
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
        let snippet = snippets.snippet(text);
        if snippet.fragment().is_empty() {
            let cut = crate::text::truncate_words(text, SNIPPET_CHARS);
            return crate::text::collapse_whitespace(&cut, &[]);
        }
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
    }

    /// A closure that turns a stored document into a [`Hit`] for `req`: which of the
    /// request's terms it contains.
    fn describer<'a>(
        &'a self,
        req: &'a SearchRequest,
    ) -> impl Fn(&TantivyDocument, f32) -> Result<Hit> + 'a {
        let wanted: HashSet<&str> = req.all_terms().map(|(t, _)| t.as_str()).collect();
        move |doc: &TantivyDocument, score: f32| {
            let get = |f: Field| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let text = get(self.fields.text);
            let section = get(self.fields.section);
            let document = get(self.fields.document);
            // Which wanted terms the passage holds, sorted for stable output: read from the
            // term lists the build stored, not by analysing the text again (which was most
            // of a search's cost, 40 passages a question).
            let wanted_in = |field: Field| {
                let stored = get(field);
                let present: HashSet<&str> = stored.split(' ').filter(|t| !t.is_empty()).collect();
                let mut found: Vec<String> = wanted
                    .iter()
                    .filter(|t| present.contains(**t))
                    .map(|t| t.to_string())
                    .collect();
                found.sort();
                found
            };
            let matched = wanted_in(self.fields.terms);
            let matched_title = wanted_in(self.fields.title_terms);
            Ok(Hit {
                passage_id: get(self.fields.id),
                doc_slug: get(self.fields.doc),
                document,
                section,
                url: get(self.fields.url),
                page: doc
                    .get_first(self.fields.page)
                    .and_then(|v| v.as_u64())
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| n > 0),
                kind: get(self.fields.kind),
                text,
                score,
                matched,
                matched_title,
            })
        }
    }
}
