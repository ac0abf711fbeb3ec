// Package chanwords words the errors of the channel actions (package
// cytube/client) for chat users, the same way in every built-in plugin
// that works the channel.
package chanwords

import (
	"context"
	"errors"
	"time"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
)

// Explain turns an error of a cytube/client call into a plugin.UserError
// the user reads; verb says what the bot was trying to do ("open polls",
// "kick"). An error it does not know is returned as is (logged by the
// plugin host, a short apology for the user).
//
//	⛔ I may not open polls here: the bot's rank registered user (1) is below the leader (1.5) channel c needs to …
//	❌ CyTube says: This item is already on the playlist
//	⚠️ No CyTube channel answers here.
//	⚠️ The console is not a CyTube channel: it has no playlist, polls or moderation.
func Explain(err error, verb string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrPermission):
		return plugin.UserError("⛔ I may not %s here: %s", verb, err)
	case errors.Is(err, client.ErrRefused):
		return plugin.UserError("❌ CyTube says: %s", err)
	case errors.Is(err, client.ErrUnknownUser), errors.Is(err, client.ErrNotFound):
		return plugin.UserError("❌ %s", err)
	case errors.Is(err, client.ErrNotSupported):
		return plugin.UserError("⚠️ %s.", err)
	case errors.Is(err, client.ErrUnknownOutcome):
		return plugin.UserError("⚠️ The connection to CyTube dropped before it answered: it may or may not be done; look again once I am back.")
	case errors.Is(err, client.ErrNotConnected):
		return plugin.UserError("⚠️ I am not in the channel right now; try again in a moment.")
	case errors.Is(err, eventbus.ErrNoResponders), errors.Is(err, eventbus.ErrTimeout):
		// A request nobody serves times out instead of failing at once
		// when a plugin listens on cytube.> (seen, welcome).
		return plugin.UserError("⚠️ No CyTube channel answers here.")
	case errors.Is(err, client.ErrRateLimited), errors.Is(err, client.ErrTimeout), errors.Is(err, client.ErrBadRequest):
		return plugin.UserError("⚠️ %s", err)
	}
	return err
}

// StateTimeout bounds a cytube.state.* request: the connector answers
// those at once from what it knows, so a longer wait means none serves
// the channel, and the user hears so before the router gives up on the
// plugin.
const StateTimeout = 2 * time.Second

// State returns ctx bounded by StateTimeout, for a state request.
func State(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, StateTimeout)
}
