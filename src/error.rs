//! The library's one error type. Binaries wrap it in `anyhow` at their edge.

use std::path::PathBuf;

use crate::corpus::Problem;

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The corpus has problems; the list names file and line for each.
    #[error("the corpus has {} problem(s):\n{}", .0.len(), crate::corpus::format_problems(.0))]
    Corpus(Vec<Problem>),
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The configuration file is missing a value, has a wrong type or cannot be parsed.
    #[error("config {path}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No index has been built yet in this directory.
    #[error("no index in {0}: run `ohwb-bot index` first")]
    NoIndex(PathBuf),
    /// The index on disk is damaged or was written by an incompatible version.
    #[error("index {path}: {message}")]
    BadIndex {
        /// The index directory.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// tantivy failed while building or searching.
    #[error("search engine: {0}")]
    Search(#[from] tantivy::TantivyError),
    /// The embedding model is missing, damaged or cannot be run.
    #[error("embedding model {path}: {message}")]
    Model {
        /// The model file or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another build holds the index lock.
    #[error("another reindex is running")]
    Busy,
    /// Another build held the index lock for longer than this process would wait.
    #[error(
        "another reindex has held the index lock for over {0} s (a stuck or suspended \
         `ohwb-bot index`?): try again later, or stop that process"
    )]
    LockTimeout(u64),
    /// The caller asked for something that does not exist (an unknown document, say).
    #[error("{0}")]
    NotFound(String),
}

/// The library's result type; refer to it as `crate::Result<T>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
