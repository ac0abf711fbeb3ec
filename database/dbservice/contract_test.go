package dbservice_test

import (
	"os"
	"testing"

	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
)

func TestContractSQLite(t *testing.T) {
	dbtest.RunContract(t, func(t *testing.T) dbservice.Config {
		return dbservice.Config{Dir: t.TempDir()}
	})
}

// TestContractPostgres runs the same suite on PostgreSQL when
// ROSEY_TEST_POSTGRES_URL names a database (see .ci/postgres.sh).
func TestContractPostgres(t *testing.T) {
	url := os.Getenv("ROSEY_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ROSEY_TEST_POSTGRES_URL is not set")
	}
	dbtest.RunContract(t, func(t *testing.T) dbservice.Config {
		return dbservice.Config{URL: url}
	})
}
