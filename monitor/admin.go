package monitor

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
)

// PluginControl is what the dashboard's admin actions call;
// *supervisor.Control is one.
type PluginControl interface {
	Reload(ctx context.Context, name string) error
	Enable(ctx context.Context, name string) error
	Disable(ctx context.Context, name string) error
}

// TokenHeader carries the admin token of a dashboard action, as
// "Authorization: Bearer <token>". A header, never a cookie: a browser
// does not add it to a request another site makes it send.
const TokenHeader = "Authorization"

// adminTimeout bounds one admin action (a reload waits for the plugin to
// stop and start again).
const adminTimeout = 30 * time.Second

type actionReply struct {
	OK      bool   `json:"ok,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (s *Server) routeAdmin() {
	// CrossOriginProtection refuses a POST another site's page sends
	// (Sec-Fetch-Site, else Origin against Host) before the token is
	// looked at.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.log.Warn("dashboard action refused", "who", "dashboard", "reason", "cross-site request")
		reply(w, http.StatusForbidden, actionReply{Error: "cross-site request refused"})
	}))
	s.page("POST /api/plugins/{name}/{verb}", cop.Handler(http.HandlerFunc(s.action)))
}

func reply(w http.ResponseWriter, code int, r actionReply) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

// authorized compares the request's token with the configured one in
// constant time.
func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get(TokenHeader), "Bearer ")
	if !ok || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.AdminToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// action enables, disables or reloads a plugin through Control, and logs
// it as !admin does, with who "dashboard".
func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	name, verb := r.PathValue("name"), r.PathValue("verb")
	if s.cfg.Control == nil || s.cfg.AdminToken == "" {
		reply(w, http.StatusForbidden, actionReply{Error: "the dashboard is read-only: set ROSEY_DASHBOARD_TOKEN to allow actions"})
		return
	}
	if !s.authorized(r) {
		s.log.Warn("dashboard action refused", "who", "dashboard", "verb", verb, "plugin", name, "reason", "no valid token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="rosey dashboard"`)
		reply(w, http.StatusUnauthorized, actionReply{Error: "a valid admin token is required"})
		return
	}
	var do func(context.Context, string) error
	var done string
	switch verb {
	case "reload":
		do, done = s.cfg.Control.Reload, "Reloaded "+name+"."
	case "enable":
		do, done = s.cfg.Control.Enable, "Enabled "+name+"."
	case "disable":
		do, done = s.cfg.Control.Disable, "Disabled "+name+"; it stays off across restarts until enabled."
	default:
		reply(w, http.StatusNotFound, actionReply{Error: "unknown action " + plugin.Clip(verb, 32) + ": want enable, disable or reload"})
		return
	}
	if name == "" || len(name) > 128 {
		reply(w, http.StatusBadRequest, actionReply{Error: "a plugin name is required"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	if err := do(ctx, name); err != nil {
		s.log.Warn("plugin control failed", "who", "dashboard", "verb", verb, "plugin", name, "result", "error", "err", err)
		code := http.StatusBadGateway
		switch {
		case errors.Is(err, supervisor.ErrNotManaged):
			code = http.StatusConflict
		case errors.Is(err, supervisor.ErrUnknownPlugin):
			code = http.StatusNotFound
		}
		reply(w, code, actionReply{Error: err.Error()})
		return
	}
	s.log.Info("plugin control", "who", "dashboard", "verb", verb, "plugin", name, "result", "ok")
	reply(w, http.StatusOK, actionReply{OK: true, Message: done})
}
