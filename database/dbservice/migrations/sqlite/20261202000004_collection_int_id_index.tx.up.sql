-- Sorting by "-$id" (the highest integer id first) walks this index and
-- stops at the query's limit, as the quote plugin's random pick does; a
-- scan backwards gives int_id DESC with NULLs (string ids) last.
CREATE INDEX IF NOT EXISTS rosey_documents_collection_int_id ON rosey_documents (collection, int_id);
