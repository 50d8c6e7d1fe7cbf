use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ohwb_bot::embed::Embedder;

use ohwb_bot::answer::{self, Answer, AskOptions};
use ohwb_bot::config::AnswerConfig;
use ohwb_bot::index::{self, SearchIndex};

/// The repository's own `corpus/`.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The committed model's folder, as an absolute path (config files resolve relative paths
/// against their own folder).
pub fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(ohwb_bot::embed::DEFAULT_DIR)
}

/// The committed embedding model, loaded once per test process.
pub fn embedder() -> Arc<Embedder> {
    Embedder::shared(&model_dir()).expect("the committed model loads")
}

static INDEX: OnceLock<(tempfile::TempDir, SearchIndex)> = OnceLock::new();

fn shared() -> &'static (tempfile::TempDir, SearchIndex) {
    INDEX.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        index::rebuild(&corpus_dir(), dir.path(), &embedder()).expect("the bundled corpus builds");
        let index = SearchIndex::open(dir.path(), embedder()).expect("opens");
        (dir, index)
    })
}

/// The real corpus, indexed once per test process into a directory that lives as long.
pub fn real_index() -> &'static SearchIndex {
    &shared().1
}

/// Where [`real_index`] lives; read-only for tests (open it, never rebuild it).
pub fn real_index_dir() -> PathBuf {
    shared().0.path().to_path_buf()
}

/// A configuration over the real corpus and the shared index.
pub fn real_config() -> ohwb_bot::config::Config {
    let mut c = ohwb_bot::config::Config::default();
    c.paths.corpus = corpus_dir();
    c.paths.index = real_index_dir();
    c.paths.model = model_dir();
    c
}

/// Asks the real corpus with the default configuration.
pub fn ask(question: &str) -> Answer {
    answer::answer(
        real_index(),
        question,
        &AnswerConfig::default(),
        &AskOptions::default(),
    )
    .expect("answer never fails on a built index")
}

/// Asserts that `a`'s first citation is a passage of `section` (a section id, or any prefix of
/// passage ids ending in `/`), naming the passage cited instead when it is not.
#[track_caller]
pub fn assert_cited_first(a: &Answer, section: &str) {
    let first = a
        .citations
        .first()
        .map_or("(no citation)", |c| &c.passage_id);
    assert!(first.starts_with(section), "{first}, not {section}");
}

/// A front-matter block for test documents.
pub fn front_matter(title: &str, kind: &str) -> String {
    format!(
        "+++\ntitle = \"{title}\"\nsource_url = \"https://example.org/{}\"\npublisher = \"Test\"\npublished = \"2024\"\nkind = \"{kind}\"\n+++\n\n",
        title.to_lowercase().replace(' ', "-")
    )
}

/// Gives every section of a small test document a source comment, as strategy and background
/// documents need (one comment sources the blocks above it back to the heading): one before
/// each heading that follows text, and one at the end.
pub fn sourced(md: &str) -> String {
    const SOURCE: &str = "<!-- source: https://example.org/page -->\n\n";
    let (head, body) = match md.match_indices("+++\n").nth(1) {
        Some((i, _)) => md.split_at(i + 4),
        None => ("", md),
    };
    let mut out = head.to_string();
    let mut text_since = false;
    for line in body.lines() {
        if line.starts_with('#') {
            if text_since {
                out.push_str(SOURCE);
            }
            text_since = false;
        } else if !line.trim().is_empty() {
            text_since = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if text_since {
        out.push_str(SOURCE);
    }
    out
}

/// Writes `files` (relative path, content) under a new temporary corpus directory, beside
/// the bundled trust safety files (which every corpus needs; a test may overwrite them).
pub fn temp_corpus(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("safety")).unwrap();
    for f in [
        ohwb_bot::safety::PHRASES_FILE,
        ohwb_bot::safety::EXAMPLES_FILE,
    ] {
        std::fs::copy(corpus_dir().join(f), dir.path().join(f)).unwrap();
    }
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// A private copy of the real corpus (for tests that post, remove or break files), with its own
/// empty index directory.
pub fn corpus_copy() -> (tempfile::TempDir, ohwb_bot::config::Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&corpus_dir(), &dir.path().join("corpus"));
    let mut c = ohwb_bot::config::Config::default();
    c.paths.corpus = dir.path().join("corpus");
    c.paths.index = dir.path().join("index");
    c.paths.model = model_dir();
    seed_vector_cache(&c.paths.index);
    (dir, c)
}

/// The `ohwb-bot` binary over `config`'s corpus, index and model, with `args` after them and
/// logging left at its default.
pub fn bot_cmd(config: &ohwb_bot::config::Config, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"));
    c.arg("--corpus")
        .arg(&config.paths.corpus)
        .arg("--index")
        .arg(&config.paths.index)
        .arg("--model")
        .arg(&config.paths.model)
        .args(args);
    c.env_remove("OHWB_LOG");
    c
}

/// What a finished `ohwb-bot` run printed, and its exit code.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary as [`bot_cmd`] would and captures what it printed.
pub fn run_bin(config: &ohwb_bot::config::Config, args: &[&str]) -> Run {
    let out = bot_cmd(config, args).output().expect("binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `cmd`, which must succeed (its stderr is the failure message), and parses its stdout
/// as JSON.
pub fn json_output(cmd: &mut std::process::Command) -> serde_json::Value {
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Gives a new index directory the vectors the shared index computed, so a build there (in
/// this process or a spawned `ohwb-bot`) embeds only texts the test changed.
pub fn seed_vector_cache(index_dir: &Path) {
    std::fs::create_dir_all(index_dir).unwrap();
    let cache = ohwb_bot::vectors::CACHE;
    std::fs::copy(real_index_dir().join(cache), index_dir.join(cache)).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes, to prove an operation changed nothing.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), out);
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

/// Loads `tests/eval/<name>` and scores the bot on it over the shared index (no sweep).
pub fn eval_set(name: &str) -> (ohwb_bot::eval::Questions, ohwb_bot::eval::Report) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/eval")
        .join(name);
    let questions = ohwb_bot::eval::Questions::load(&path).unwrap();
    let corpus = ohwb_bot::corpus::load(&corpus_dir()).unwrap();
    let report = ohwb_bot::eval::run(
        real_index(),
        &ohwb_bot::config::AnswerConfig::default(),
        &corpus,
        &questions,
        false,
    )
    .unwrap();
    (questions, report)
}
