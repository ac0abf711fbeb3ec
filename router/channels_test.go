package router_test

import (
	"context"
	"errors"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// sayIn says line as user in channel.
func (r *rig) sayIn(channel, user, line string) {
	r.t.Helper()
	msg := protocol.ChatMessage{User: user, Message: line, Channel: channel, Rank: protocol.RankUser}
	if err := r.bus.Publish(context.Background(), protocol.Chat, msg); err != nil {
		r.t.Fatalf("publish: %v", err)
	}
}

// A channel can have a prefix of its own, and plugins that do not answer
// there; answers go back to the channel a command came from.
func TestChannelsHaveTheirOwnPrefixAndPlugins(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{Channels: map[string]router.ChannelConfig{
		"games": {Prefix: "?"},
		"quiet": {DisabledPlugins: []string{"Echo"}},
	}}, echo{})

	r.sayIn("games", "alice", "?echo hi")
	rep := r.next()
	is.Equal(rep.Channel, "games")
	is.Equal(rep.Message, `alice said "hi" via chat (args 1)`)
	r.sayIn("games", "alice", "!echo not a command here")
	r.sayIn("games", "alice", "?nope")
	rep = r.next()
	is.Equal(rep.Channel, "games")
	is.Equal(rep.Message, "❓ Unknown command ?nope. Try ?help.") // the channel's own prefix

	r.sayIn("quiet", "bob", "!say hi") // an alias of a plugin off in this channel
	rep = r.next()
	is.Equal(rep.Channel, "quiet")
	is.Equal(rep.Message, "❓ Unknown command !say. Try !help.")

	r.sayIn("room", "carol", "!echo elsewhere") // a channel without settings
	rep = r.next()
	is.Equal(rep.Channel, "room")
	is.Equal(rep.Message, `carol said "elsewhere" via chat (args 1)`)
	r.expectNone()
}

func TestChannelConfigValidation(t *testing.T) {
	is := is.New(t)
	for _, chans := range []map[string]router.ChannelConfig{
		{"": {}},
		{"games": {Prefix: "? "}},
		{"games": {Prefix: "toolongprefix"}},
		{"games": {DisabledPlugins: []string{""}}},
	} {
		err := router.Config{Channels: chans}.Validate()
		is.True(errors.Is(err, router.ErrInvalidConfig))
	}
	is.NoErr(router.Config{Channels: map[string]router.ChannelConfig{"games": {Prefix: "?", DisabledPlugins: []string{"trivia"}}}}.Validate())
}
