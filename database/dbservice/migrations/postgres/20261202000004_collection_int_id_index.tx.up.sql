-- Sorting by "-$id" (the highest integer id first) walks this index and
-- stops at the query's limit, as the quote plugin's random pick does.
-- PostgreSQL sorts NULLs (string ids) last only in this declared order.
CREATE INDEX IF NOT EXISTS rosey_documents_collection_int_id ON rosey_documents (collection, int_id DESC NULLS LAST);
