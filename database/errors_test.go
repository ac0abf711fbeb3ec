package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/database/dbservice"
	"github.com/roseybot/rosey/database/dbtest"
)

// An error from the service reads as one sentence: the package, the
// operation and what is wrong, each said once.
func TestErrorTextSaysEachPartOnce(t *testing.T) {
	is := is.New(t)
	env := dbtest.Start(t, dbservice.Config{Dir: t.TempDir()})
	ctx := context.Background()
	_, err := env.Client.Set(ctx, "no spaces allowed", database.ID{}, map[string]any{"a": 1})
	is.True(errors.Is(err, database.ErrInvalidRequest))
	text := err.Error()
	if strings.Count(text, "database") != 1 || strings.Count(text, "invalid") != 1 || strings.Contains(text, "invalid_request") {
		t.Fatalf("error text repeats itself or shows the wire code: %q", text)
	}
	if !strings.HasPrefix(text, "database: set: invalid request: ") || !strings.Contains(text, "collection") {
		t.Fatalf("error text does not say what and where: %q", text)
	}
	err = env.Client.Get(ctx, "quotes", database.IntID(7), &struct{}{})
	is.True(errors.Is(err, database.ErrNotFound))
	if text := err.Error(); strings.Count(text, "not found") != 1 || strings.Count(text, "database") != 1 {
		t.Fatalf("error text repeats itself: %q", text)
	}
}
