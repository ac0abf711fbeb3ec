package dbservice_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
)

// TestStatementsOutlivingAMigration: when another service instance (a
// rolling upgrade) migrates the tables so that what a prepared statement
// returns changes, PostgreSQL refuses the statement ("cached plan must not
// change result type"); the service prepares it again and goes on, for
// reads and writes alike.
func TestStatementsOutlivingAMigration(t *testing.T) {
	pgURL := os.Getenv("ROSEY_TEST_POSTGRES_URL")
	if pgURL == "" {
		t.Skip("ROSEY_TEST_POSTGRES_URL is not set")
	}
	is := is.New(t)
	ctx := context.Background()
	// A schema of its own: the test changes a table other tests use.
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pgURL)))
	t.Cleanup(func() { _ = admin.Close() })
	schema := "rosey_stale_" + strings.ToLower(eventbus.NewCorrelationID()[10:])
	_, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema)
	is.NoErr(err)
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(pgURL)
	is.NoErr(err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := dbservice.Open(ctx, dbservice.Config{URL: u.String()})
	is.NoErr(err)
	t.Cleanup(func() { _ = st.Close() })

	// Every statement used once, so that each is prepared.
	use := func(n int) {
		t.Helper()
		data, err := st.Get(ctx, database.GetRequest{Collection: "c", ID: database.IntID(1)})
		is.NoErr(err)
		var doc map[string]int
		is.NoErr(json.Unmarshal(data, &doc))
		is.Equal(doc["n"], n)
		res, err := st.Query(ctx, database.QueryRequest{Collection: "c"})
		is.NoErr(err)
		is.Equal(len(res.Items), 1)
		is.Equal(res.Total, int64(1))
		_, err = st.Update(ctx, database.UpdateRequest{Collection: "c", ID: database.IntID(1), Update: database.Update{Inc: map[string]any{"n": 1}}})
		is.NoErr(err)
	}
	_, err = st.Set(ctx, database.SetRequest{Collection: "c", Data: []byte(`{"n":0}`)})
	is.NoErr(err)
	use(0)

	// What another instance's migration might do: a column changes type.
	_, err = admin.ExecContext(ctx, `ALTER TABLE `+schema+`.rosey_documents ALTER COLUMN data TYPE json USING data::json`)
	is.NoErr(err)
	for i := 1; i <= 3; i++ {
		use(i)
	}
	_, err = st.Set(ctx, database.SetRequest{Collection: "c", Data: []byte(`{"n":0}`)})
	is.NoErr(err)
}
