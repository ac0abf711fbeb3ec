-- Queries scan one collection in insertion order.
CREATE INDEX IF NOT EXISTS rosey_documents_collection_seq ON rosey_documents (collection, seq);
