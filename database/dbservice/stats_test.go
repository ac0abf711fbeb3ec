package dbservice_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/logtest"
)

// endpointStats asks the database service for its micro statistics
// ($SRV.STATS), by endpoint name.
func endpointStats(t *testing.T, bus *eventbus.Bus) map[string]*micro.EndpointStats {
	t.Helper()
	is := is.New(t)
	subject, err := micro.ControlSubject(micro.StatsVerb, database.ServiceName, "")
	is.NoErr(err)
	msg, err := bus.Conn().Request(subject, nil, 5*time.Second)
	is.NoErr(err)
	var stats micro.Stats
	is.NoErr(json.Unmarshal(msg.Data, &stats))
	byName := map[string]*micro.EndpointStats{}
	for _, e := range stats.Endpoints {
		byName[e.Name] = e
	}
	return byName
}

// TestStatsLastErrorSanitized: the last_error of the service's statistics
// ($SRV.STATS, which anyone on the bus may read) says the failure's code
// and a generic text, never the error's detail (SQL, file paths, what a
// request held); the detail goes to the service's log.
func TestStatsLastErrorSanitized(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	is.NoErr(err)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	bus, err := eventbus.Connect(ctx, srv.BusConfig("bot"))
	is.NoErr(err)
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	var logs logtest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: t.TempDir(), Logger: logger})
	is.NoErr(err)
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	c := database.NewClient(bus)
	_, err = c.Set(ctx, "q", database.ID{}, map[string]any{"a": 1})
	is.NoErr(err)

	// A request refused: its detail names what the request held.
	var doc map[string]any
	is.True(errors.Is(c.Get(ctx, "secret-Name!", database.IntID(1), &doc), database.ErrInvalidRequest))
	// Internal errors: the database lost its table under the service.
	_, err = svc.Store().DB().ExecContext(ctx, `DROP TABLE rosey_documents`)
	is.NoErr(err)
	_, err = c.Query(ctx, database.QueryRequest{Collection: "q"})
	is.True(errors.Is(err, database.ErrInternal))
	_, err = c.Set(ctx, "q", database.ID{}, map[string]any{"a": 2})
	is.True(errors.Is(err, database.ErrInternal))

	stats := endpointStats(t, bus)
	for name, want := range map[string]string{
		"get":   "invalid_request:invalid request",
		"query": "internal:internal error",
		"set":   "internal:internal error",
	} {
		is.Equal(stats[name].NumErrors, 1)
		is.Equal(stats[name].LastError, want) // the code and a generic text
	}
	// The detail is in the log.
	for _, detail := range []string{"secret-Name!", "no such table: rosey_documents"} {
		if !strings.Contains(logs.String(), detail) {
			t.Errorf("the log does not say %q:\n%s", detail, logs.String())
		}
	}
}
