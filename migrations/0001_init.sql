-- ohwb-bot's database: counts, feedback and (opt-in) declined questions.
-- Portable SQL: the same file runs on SQLite and PostgreSQL. Statements are separated by ";"
-- at the end of a line. Privacy: no table holds a user id or name; `voter` is a salted hash
-- used only to allow one vote per answer per person, and never sits beside question text.

CREATE TABLE IF NOT EXISTS ohwb_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Replies per UTC day by outcome: answered, declined, help, crisis. Counts only.
CREATE TABLE IF NOT EXISTS ohwb_daily (
  day TEXT NOT NULL,
  outcome TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (day, outcome)
);

-- An answer that can be voted on: the passages it cited and the day. No question text.
CREATE TABLE IF NOT EXISTS ohwb_answers (
  answer_id TEXT PRIMARY KEY,
  day TEXT NOT NULL,
  passages TEXT NOT NULL
);

-- One vote per answer per (hashed) person.
CREATE TABLE IF NOT EXISTS ohwb_votes (
  answer_id TEXT NOT NULL,
  voter TEXT NOT NULL,
  helpful BIGINT NOT NULL,
  day TEXT NOT NULL,
  PRIMARY KEY (answer_id, voter)
);

-- Declined questions, scrubbed, only with [insights] record_declined = true; deleted after
-- retention_days.
CREATE TABLE IF NOT EXISTS ohwb_declined (
  id TEXT PRIMARY KEY,
  day TEXT NOT NULL,
  question TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS ohwb_declined_day ON ohwb_declined (day);
CREATE INDEX IF NOT EXISTS ohwb_answers_day ON ohwb_answers (day);
