-- Several instances behaving as one bot: posted resources and reindex requests, shared through
-- the database. Portable SQL, as 0001.

-- Posted resources as their corpus files (id = file name without .md). A removal keeps the row
-- with removed = 1, so an instance that still has the file deletes it.
CREATE TABLE IF NOT EXISTS ohwb_resources (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  removed BIGINT NOT NULL,
  changed BIGINT NOT NULL
);

-- One row: a number raised by every shared change (a resource posted or removed, a reindex).
-- Each instance polls it and catches up when it moves.
CREATE TABLE IF NOT EXISTS ohwb_generation (
  id BIGINT PRIMARY KEY,
  value BIGINT NOT NULL
);

INSERT INTO ohwb_generation (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
