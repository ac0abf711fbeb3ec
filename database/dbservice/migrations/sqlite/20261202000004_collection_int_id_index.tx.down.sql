DROP INDEX IF EXISTS rosey_documents_collection_int_id;
