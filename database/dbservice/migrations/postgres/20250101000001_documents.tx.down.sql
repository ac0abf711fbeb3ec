DROP TABLE IF EXISTS rosey_schemas;
--bun:split
DROP TABLE IF EXISTS rosey_sequences;
--bun:split
DROP TABLE IF EXISTS rosey_documents;
