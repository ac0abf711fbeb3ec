package dbservice_test

import (
	"context"
	"errors"
	"testing"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// TestPrefixAndMicro checks that a configured subject prefix applies and
// that the service is visible as a NATS micro service.
func TestPrefixAndMicro(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	is.NoErr(err)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	cfg := srv.BusConfig("bot1")
	cfg.Prefix = "bot1"
	bus, err := eventbus.Connect(ctx, cfg)
	is.NoErr(err)
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: t.TempDir()})
	is.NoErr(err)

	info := svc.Info()
	is.Equal(info.Name, database.ServiceName)
	subjects := map[string]bool{}
	for _, e := range info.Endpoints {
		subjects[e.Subject] = true
	}
	is.True(subjects["bot1.database.set"])
	is.True(subjects["bot1.database.schema.register"])

	c := database.NewClient(bus)
	id, err := c.Set(ctx, "q", database.ID{}, map[string]any{"a": 1})
	is.NoErr(err)
	is.Equal(id, database.IntID(1))
	// nothing answers the unprefixed subject
	_, err = bus.Conn().Request("database.get", []byte(`{"collection":"q","id":1}`), 0)
	is.True(err != nil)

	// discovery through the micro PING verb
	ping, err := micro.ControlSubject(micro.PingVerb, database.ServiceName, "")
	is.NoErr(err)
	_, err = bus.Conn().Request(ping, nil, 5e9)
	is.NoErr(err)

	is.NoErr(svc.Stop(ctx))
	is.NoErr(svc.Stop(ctx)) // idempotent
	_, err = c.Set(ctx, "q", database.ID{}, map[string]any{"a": 1})
	is.True(errors.Is(err, database.ErrUnavailable))
}

func TestConfigValidate(t *testing.T) {
	is := is.New(t)
	for _, cfg := range []dbservice.Config{
		{},
		{Dir: "a", URL: "postgres://x"},
		{URL: "http://x"},
		{Dir: "a", MaxDocumentSize: -1},
		{Dir: "a", Synchronous: "off"},
	} {
		is.True(errors.Is(cfg.Validate(), dbservice.ErrInvalidConfig))
	}
	is.NoErr(dbservice.Config{Dir: "a"}.Validate())
	is.NoErr(dbservice.Config{URL: "postgresql://u:p@h/db"}.Validate())
}

// TestMigrationsUpgrade opens a database that lacks the newest migration
// and finds it applied.
func TestMigrationsUpgrade(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := dbservice.Open(ctx, dbservice.Config{Dir: dir})
	is.NoErr(err)
	var n int
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*) FROM rosey_migrations").Scan(ctx, &n))
	is.Equal(n, 3)
	// make it look like a database from a release that had only the first
	_, err = st.DB().NewRaw("DELETE FROM rosey_migrations WHERE name = '20250101000002'").Exec(ctx)
	is.NoErr(err)
	_, err = st.DB().NewRaw("DROP INDEX rosey_documents_collection_seq").Exec(ctx)
	is.NoErr(err)
	is.NoErr(st.Close())
	st, err = dbservice.Open(ctx, dbservice.Config{Dir: dir})
	is.NoErr(err)
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*) FROM rosey_migrations").Scan(ctx, &n))
	is.Equal(n, 3)
	is.NoErr(st.DB().NewRaw("SELECT COUNT(*) FROM sqlite_master WHERE name = 'rosey_documents_collection_seq'").Scan(ctx, &n))
	is.Equal(n, 1) // upgraded
	is.NoErr(st.Close())
}
