-- Documents of every collection. Timestamps are unix microseconds; int_id
-- is set when the id is an integer (id holds its decimal text).
CREATE TABLE IF NOT EXISTS rosey_documents (
    seq INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    int_id INTEGER,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (collection, id)
);
--bun:split
-- The last integer id assigned in each collection.
CREATE TABLE IF NOT EXISTS rosey_sequences (
    collection TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
--bun:split
-- The JSON Schema registered for a collection.
CREATE TABLE IF NOT EXISTS rosey_schemas (
    collection TEXT PRIMARY KEY,
    schema TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
