//! What the benchmarks share: timing and percentiles, the synthetic corpus built from the
//! bundled paragraphs, and the limit every figure is compared with (raw tantivy on the same
//! passages).

use std::path::Path;
use std::time::{Duration, Instant};

use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, STORED, TEXT};
use tantivy::{doc, Index};

use ohwb_bot::embed::{Embedder, DIM};

/// Questions the answer and burst benchmarks cycle through: paraphrases, a typo, one out of
/// scope.
pub const QUESTIONS: &[&str] = &[
    "How will occupational health services become easier to reach?",
    "what are the four strategic drivers",
    "What did the Boorman review find about sickness absence?",
    "what is on the canteen menu today?",
    "is there a multidisciplinary team model",
    "who on the board is supposed to look out for staff welfare",
    "what is growing ohwb together",
    "how many recomendations did boorman make",
];

/// The median and the 99th percentile of `samples`, in milliseconds.
pub fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (p(0.5), p(0.99))
}

/// `runs` timings of `f(i)`, its result kept from being optimised away.
pub fn time<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> Vec<Duration> {
    (0..runs)
        .map(|i| {
            let t = Instant::now();
            std::hint::black_box(f(i));
            t.elapsed()
        })
        .collect()
}

/// `copies` copies of the bundled paragraphs, each made unique, in documents of one copy
/// each, beside the bundled safety files (no phrasings). Returns the number of passages.
pub fn synthetic_corpus(real: &Path, dir: &Path, copies: usize) -> usize {
    let paragraphs: Vec<String> = ohwb_bot::corpus::load(real)
        .unwrap()
        .documents
        .into_iter()
        .flat_map(|d| d.passages.into_iter().map(|p| p.text))
        .collect();
    std::fs::create_dir_all(dir.join("safety")).unwrap();
    for f in ["safety/phrases.toml", "safety/examples.toml"] {
        std::fs::copy(real.join(f), dir.join(f)).unwrap();
    }
    for d in 0..copies {
        let mut body = format!(
            "+++\ntitle = \"Synthetic {d}\"\nsource_url = \"https://example.org/{d}\"\npublisher = \"Bench\"\npublished = \"2024\"\nkind = \"background\"\n+++\n\n"
        );
        for (i, p) in paragraphs.iter().enumerate() {
            body.push_str(&format!(
                // Background documents source every paragraph; one comment sources the section.
                "## Section {i} of site {d}\n\n{p} Site {d} note {i}.\n\
                 <!-- source: https://example.org/{d}/{i} -->\n\n"
            ));
        }
        std::fs::write(dir.join(format!("synthetic-{d}.md")), body).unwrap();
    }
    copies * paragraphs.len()
}

/// Raw tantivy over the same passage texts, `runs` searches for `questions` in turn (default
/// `QueryParser`, top 3): the limit the bot's figures are compared with.
pub fn raw_tantivy(corpus: &Path, questions: &[&str], runs: usize) -> Vec<Duration> {
    let mut b = Schema::builder();
    let text = b.add_text_field("text", TEXT | STORED);
    let raw = Index::create_in_ram(b.build());
    let mut w = raw.writer_with_num_threads(1, 100_000_000).unwrap();
    for d in ohwb_bot::corpus::load(corpus).unwrap().documents {
        for p in d.passages {
            w.add_document(doc!(text => p.text)).unwrap();
        }
    }
    w.commit().unwrap();
    let reader = raw.reader().unwrap();
    let parser = QueryParser::for_index(&raw, vec![text]);
    time(runs, |i| {
        let clean: String = questions[i % questions.len()]
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        let q = parser.parse_query(&clean).unwrap();
        reader
            .searcher()
            .search(&q, &TopDocs::with_limit(3).order_by_score())
            .unwrap()
    })
}

/// Primes the model's cache with a deterministic unit vector for every passage text and
/// answer piece the build will ask for, so the build does not run the model over the
/// synthetic passages.
pub fn prime_passage_vectors(corpus: &Path, embedder: &Embedder) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for d in ohwb_bot::corpus::load(corpus).unwrap().documents {
        for p in d.passages {
            let heading = p.section.last().cloned().unwrap_or_default();
            let texts = std::iter::once(format!("{}: {}", p.section_path(), p.text)).chain(
                ohwb_bot::answer_units::answer_units(&p.text, &heading)
                    .into_iter()
                    .map(|u| u.text),
            );
            for text in texts {
                let mut v: Vec<f32> = (0..DIM)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state % 2001) as f32 / 1000.0 - 1.0
                    })
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter_mut().for_each(|x| *x /= norm);
                embedder.prime(Embedder::key(&text), v);
            }
        }
    }
}
