-- Documents of every collection. Timestamps are unix microseconds; int_id
-- is set when the id is an integer (id holds its decimal text).
CREATE TABLE IF NOT EXISTS rosey_documents (
    seq BIGSERIAL PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    int_id BIGINT,
    data JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (collection, id)
);
--bun:split
-- The last integer id assigned in each collection.
CREATE TABLE IF NOT EXISTS rosey_sequences (
    collection TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
--bun:split
-- The JSON Schema registered for a collection.
CREATE TABLE IF NOT EXISTS rosey_schemas (
    collection TEXT PRIMARY KEY,
    schema TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
