//! The naive baseline `eval` reports beside the bot: tantivy's default query parser over whole
//! documents (title and body), no stemming, no boosts, no expansion, no decline logic. It can
//! only be right at document level, so the bot is compared with it at that level too.

use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, STORED, TEXT};
use tantivy::{Index, TantivyDocument};

use crate::corpus::Corpus;
use crate::Result;

/// Whole documents in a RAM index with tantivy's defaults.
pub struct Baseline {
    index: Index,
    parser: QueryParser,
    slug: tantivy::schema::Field,
}

impl Baseline {
    /// Indexes every document of `corpus` whole.
    pub fn build(corpus: &Corpus) -> Result<Baseline> {
        let mut b = Schema::builder();
        let slug = b.add_text_field("slug", STORED);
        let title = b.add_text_field("title", TEXT);
        let body = b.add_text_field("body", TEXT);
        let index = Index::create_in_ram(b.build());
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        for d in &corpus.documents {
            let mut doc = TantivyDocument::default();
            doc.add_text(slug, &d.slug);
            doc.add_text(title, &d.meta.title);
            let text: Vec<String> = d
                .passages
                .iter()
                .map(|p| format!("{}\n{}", p.section_path(), p.text))
                .collect();
            doc.add_text(body, text.join("\n\n"));
            w.add_document(doc)?;
        }
        w.commit()?;
        let parser = QueryParser::for_index(&index, vec![title, body]);
        Ok(Baseline {
            index,
            parser,
            slug,
        })
    }

    /// Document slugs, best first, top 3.
    pub fn search(&self, q: &str) -> Result<Vec<String>> {
        use tantivy::schema::Value;
        let (query, _errors) = self.parser.parse_query_lenient(q);
        let searcher = self.index.reader()?.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(3).order_by_score())?;
        let mut out = Vec::new();
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            out.push(
                d.get_first(self.slug)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        Ok(out)
    }
}
