// Package client gives Go code typed access to the CyTube channel a Rosey
// connector serves: its state (who is here, the playlist, the open poll,
// what the bot may do) and its actions (queue a link, skip, open a poll,
// kick, ban…), over the cytube.state.* and cytube.do.* request subjects of
// docs/PROTOCOL.md §9. It works the same from a plugin in the bot's process
// (plugin.Host.Bus) and from one in a process of its own.
//
// Every action answers with CyTube's real outcome. A refusal is an *Error
// whose Code says why and whose Message is CyTube's own text when CyTube
// refused; errors.Is matches the sentinel of each code:
//
//	item, err := client.New(h.Bus(), req.Channel).Queue(ctx, "https://youtu.be/dQw4w9WgXcQ", client.QueueOptions{})
//	switch {
//	case errors.Is(err, client.ErrPermission): // the bot's rank is too low
//	case errors.Is(err, client.ErrRefused): // CyTube said no: err.Error() is its text
//	}
//
// An action is never answered ErrNotConnected once it was sent: when the
// connection drops before CyTube's answer, it fails with ErrUnknownOutcome
// (it may or may not have been done; look at the state once the bot is
// back), and with ErrTimeout when CyTube did not answer in time.
//
// While the bot is not in the channel (connecting, reconnecting) the state
// requests fail with ErrNotConnected too, rather than answer what the
// connector saw last; Bot still answers, with Connected false.
package client
