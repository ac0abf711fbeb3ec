package monitor_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/internal/logtest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/roseytest"
)

const token = "correct horse battery staple"

// logBuffer collects a bot's JSON logs.
type logBuffer struct{ logtest.Buffer }

// records returns the logged records whose msg is msg.
func (l *logBuffer) records(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func withToken(t *testing.T, tok string, logs *logBuffer, ps ...plugin.Plugin) *roseytest.Harness {
	return roseytest.New(t, roseytest.WithPlugins(ps...), roseytest.WithConfig(func(c *rosey.Config) {
		c.HTTP.Listen = "127.0.0.1:0"
		c.HTTP.DashboardToken = tok
		if logs != nil {
			c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		}
	}))
}

// post sends an admin action; header pairs are added to the request.
func post(t *testing.T, addr, path string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: %s: body is not JSON: %v", path, resp.Status, err)
	}
	return resp.StatusCode, body
}

func pluginState(t *testing.T, h *roseytest.Harness, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := supervisor.NewControl(h.Bus()).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Info.Name == name {
			return s.State
		}
	}
	t.Fatalf("no plugin %s", name)
	return ""
}

func TestDashboardActionsNeedTheToken(t *testing.T) {
	is := is.New(t)
	logs := &logBuffer{}
	h := withToken(t, token, logs, echo{})
	addr := h.Bot().MonitorAddr()

	code, body := post(t, addr, "/api/plugins/echo/disable")
	is.Equal(code, http.StatusUnauthorized)
	is.Equal(body["error"], "a valid admin token is required")
	code, _ = post(t, addr, "/api/plugins/echo/disable", "Authorization", "Bearer wrong")
	is.Equal(code, http.StatusUnauthorized)
	code, _ = post(t, addr, "/api/plugins/echo/disable", "Authorization", token) // not a bearer token
	is.Equal(code, http.StatusUnauthorized)
	is.Equal(pluginState(t, h, "echo"), plugin.StateStarted)
	is.True(len(logs.records("dashboard action refused")) >= 3)

	code, body = post(t, addr, "/api/plugins/echo/disable", "Authorization", "Bearer "+token)
	is.Equal(code, http.StatusOK)
	is.True(strings.HasPrefix(body["message"].(string), "Disabled echo"))
	is.True(pluginState(t, h, "echo") != plugin.StateStarted)
	h.Say("alice", "!echo hi")
	h.Expect("Unknown command")

	code, _ = post(t, addr, "/api/plugins/echo/enable", "Authorization", "Bearer "+token)
	is.Equal(code, http.StatusOK)
	is.Equal(pluginState(t, h, "echo"), plugin.StateStarted)
	code, body = post(t, addr, "/api/plugins/echo/reload", "Authorization", "Bearer "+token)
	is.Equal(code, http.StatusOK)
	is.Equal(body["message"], "Reloaded echo.")
	h.Say("alice", "!echo back")
	h.Expect("echo back")

	// Logged like !admin, with who did it.
	done := logs.records("plugin control")
	is.Equal(len(done), 3)
	for i, verb := range []string{"disable", "enable", "reload"} {
		is.Equal(done[i]["who"], "dashboard")
		is.Equal(done[i]["verb"], verb)
		is.Equal(done[i]["plugin"], "echo")
		is.Equal(done[i]["result"], "ok")
	}

	code, body = post(t, addr, "/api/plugins/nosuch/reload", "Authorization", "Bearer "+token)
	is.Equal(code, http.StatusNotFound)
	is.True(strings.Contains(body["error"].(string), "nosuch"))
	failed := logs.records("plugin control failed")
	is.Equal(len(failed), 1)
	is.Equal(failed[0]["who"], "dashboard")
	is.Equal(failed[0]["result"], "error")
	is.True(failed[0]["err"] != nil)
	code, _ = post(t, addr, "/api/plugins/echo/explode", "Authorization", "Bearer "+token)
	is.Equal(code, http.StatusNotFound)
}

func TestDashboardActionsRefuseCrossSiteRequests(t *testing.T) {
	is := is.New(t)
	h := withToken(t, token, nil, echo{})
	addr := h.Bot().MonitorAddr()
	auth := "Bearer " + token
	for _, header := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
		{"Origin", "null"},
	} {
		code, body := post(t, addr, "/api/plugins/echo/disable", "Authorization", auth, header[0], header[1])
		if code != http.StatusForbidden {
			t.Fatalf("%s: %s answered %d %v, want 403", header[0], header[1], code, body)
		}
		is.Equal(body["error"], "cross-site request refused")
	}
	is.Equal(pluginState(t, h, "echo"), plugin.StateStarted)

	// The page's own requests pass.
	code, _ := post(t, addr, "/api/plugins/echo/reload", "Authorization", auth, "Sec-Fetch-Site", "same-origin", "Origin", "http://"+addr)
	is.Equal(code, http.StatusOK)
}

func TestDashboardIsReadOnlyWithoutAToken(t *testing.T) {
	is := is.New(t)
	t.Setenv(rosey.DashboardTokenEnv, "")
	h := withToken(t, "", nil, echo{})
	addr := h.Bot().MonitorAddr()
	code, body := post(t, addr, "/api/plugins/echo/disable", "Authorization", "Bearer ")
	is.Equal(code, http.StatusForbidden)
	is.True(strings.Contains(body["error"].(string), "read-only"))
	code, _ = post(t, addr, "/api/plugins/echo/disable", "Authorization", "Bearer anything")
	is.Equal(code, http.StatusForbidden)
	is.Equal(pluginState(t, h, "echo"), plugin.StateStarted)
	code, state := get(t, addr, "/api/state")
	is.Equal(code, http.StatusOK)
	is.True(strings.Contains(state, `"admin":false`))
}

func TestDashboardTokenFromTheEnvironment(t *testing.T) {
	is := is.New(t)
	t.Setenv(rosey.DashboardTokenEnv, token)
	h := withToken(t, "", nil, echo{})
	code, _ := post(t, h.Bot().MonitorAddr(), "/api/plugins/echo/reload", "Authorization", "Bearer "+token)
	is.Equal(code, http.StatusOK)
	_, state := get(t, h.Bot().MonitorAddr(), "/api/state")
	is.True(strings.Contains(state, `"admin":true`))
}
