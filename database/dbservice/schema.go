package dbservice

type compiledSchema struct{}

func (s *Store) validateSchema(collection string, data []byte) error { return nil }

func (s *Store) loadSchemas(ctx interface{}) error { return nil }
