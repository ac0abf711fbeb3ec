package dbservice_test

import (
	"context"
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

func TestSmoke(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	is.NoErr(err)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	bus, err := eventbus.Connect(ctx, srv.BusConfig("test"))
	is.NoErr(err)
	t.Cleanup(func() { bus.Close(context.Background()) })
	svc, err := dbservice.Start(ctx, bus, dbservice.Config{Dir: t.TempDir()})
	is.NoErr(err)
	defer func() { is.NoErr(svc.Stop(ctx)) }()
	c := database.NewClient(bus)
	id, err := c.Set(ctx, "quotes", database.ID{}, map[string]any{"text": "hi"})
	is.NoErr(err)
	is.Equal(id, database.IntID(1))
	var got map[string]any
	is.NoErr(c.Get(ctx, "quotes", id, &got))
	is.Equal(got["text"], "hi")
	err = c.Get(ctx, "quotes", database.IntID(9), &got)
	is.True(errors.Is(err, database.ErrNotFound))
}
