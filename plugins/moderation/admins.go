package moderation

import (
	"context"
	"strings"
	"time"

	"github.com/roseybot/rosey/protocol"
)

const (
	// adminsTimeout bounds the question to the router.
	adminsTimeout = time.Second
	// adminsRetry and adminsRefresh: how soon the router is asked again
	// after no answer, and after one.
	adminsRetry   = 10 * time.Second
	adminsRefresh = 5 * time.Minute
)

// protected reports whether user is an admin in channel: the plugin's,
// the channel's or the router's.
func (s *server) protected(channel, user string) bool {
	for _, a := range s.cfg.in(channel).Admins {
		if protocol.SameUser(a, user) {
			return true
		}
	}
	return s.routerAdmin(strings.ToLower(user))
}

// routerAdmin reports whether the router lists key (lower-cased) among
// its admins. The router is asked (platform.router.admins) the first time
// and every few minutes after; until it answers, nobody is one.
func (s *server) routerAdmin(key string) bool {
	now := s.h.Clock().Now()
	set := s.admins.Load()
	if set == nil {
		// The first answer is waited for: judging a router admin as
		// anyone would be the error this is here to avoid.
		s.askAdmins(now)
		set = s.admins.Load()
	} else if s.stale(now) {
		s.h.Go(func(context.Context) { s.askAdmins(now) })
	}
	return set != nil && (*set)[key]
}

func (s *server) stale(now time.Time) bool {
	return now.UnixNano()-s.adminsAt.Load() > int64(adminsRefresh)
}

// askAdmins asks the router for its admins, unless it was asked lately.
func (s *server) askAdmins(now time.Time) {
	s.adminsMu.Lock()
	defer s.adminsMu.Unlock()
	wait := adminsRefresh
	if s.admins.Load() == nil {
		wait = adminsRetry
	}
	if at := s.adminsAt.Load(); at != 0 && now.UnixNano()-at < int64(wait) {
		return
	}
	s.adminsAt.Store(now.UnixNano())
	ctx, cancel := context.WithTimeout(s.h.Context(), adminsTimeout)
	defer cancel()
	ev, err := s.h.Bus().Request(ctx, protocol.RouterAdmins, struct{}{})
	var reply protocol.RouterAdminsReply
	if err == nil {
		err = ev.Decode(&reply)
	}
	if err != nil || !reply.OK {
		s.log.Debug("the router did not say its admins; only the plugin's are protected", "err", err)
		return
	}
	set := make(map[string]bool, len(reply.Admins))
	for _, a := range reply.Admins {
		set[strings.ToLower(a)] = true
	}
	s.admins.Store(&set)
}
