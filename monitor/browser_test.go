package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// chromium finds Debian's headless Chromium. Without it the browser test
// skips locally and fails in CI (CI set), where .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("Chromium is not installed, so the dashboard's browser test is skipped (apt-get install chromium; with CI set this fails)")
	}
	t.Fatal("Chromium is not installed: .ci/run installs Debian's chromium package")
	return ""
}

// browse starts a headless Chromium on a fresh profile and returns its
// tab's context. On failure it saves a screenshot and logs its path.
func browse(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	tab, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, tab, "failure")
		}
	})
	return tab
}

// screenshot saves the page as name.png in the test's artifact directory
// (kept with go test -artifacts) and logs where.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// eval returns a JavaScript expression's value in the page.
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript predicate until it holds.
func wait(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

const (
	echoRequests = `Number(document.querySelector('#plugins tr[data-plugin="echo"] td:nth-of-type(4)')?.textContent)`
	echoState    = `document.querySelector('#plugins tr[data-plugin="echo"] td:nth-of-type(2)')?.textContent`
	ratedTotal   = `Number(document.getElementById("rate-chart").dataset.commands || 0)`
	latencyDots  = `Number(document.getElementById("latency-chart").dataset.points || 0)`
	updates      = `Number(document.body.dataset.updates || 0)`
	actionResult = `document.getElementById("action-result").textContent`
	connectorRow = `document.querySelector('#connectors tr[data-channel="` + roseytest.Channel + `"]')`
	// connectorState and connectorOut read the row's data attributes, set
	// from the same figures as its cells.
	connectorState = connectorRow + `?.dataset.state`
	connectorOut   = `Number(` + connectorRow + `?.dataset.out)`
	dbSets         = `Number(document.querySelector('#database tr[data-operation="set"]')?.dataset.requests || 0)`
)

// hostileError is markup a plugin puts in its error; the page must show it
// as text, never run it.
const hostileError = `<img src=x onerror="document.body.dataset.pwned=1"><script>document.body.dataset.pwned=2</script>`

// hostile fails to start with markup in its error.
type hostile struct{}

func (hostile) Info() plugin.Info {
	return plugin.Info{Name: "hostile", Version: "1.0.0", Commands: []plugin.Command{{Name: "hostile"}}}
}
func (hostile) Start(context.Context, *plugin.Host) error { return errors.New(hostileError) }
func (hostile) Stop(context.Context) error                { return nil }

func TestDashboardInABrowser(t *testing.T) {
	tab := browse(t)
	h := withToken(t, token, nil, echo{}, hostile{})
	// A connector on a NATS connection of its own, as in another process:
	// the page shows it from what it serves over NATS.
	h.CyTube()
	url := "http://" + h.Bot().MonitorAddr() + "/"

	do(t, tab, "open the dashboard", chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#plugins tr[data-plugin="echo"]`)))
	wait(t, tab, "the first updates", updates+` >= 2`)
	if got := eval[string](t, tab, echoState); got != plugin.StateStarted {
		t.Fatalf("echo's state in the table is %q", got)
	}
	before := eval[float64](t, tab, echoRequests)
	if n := eval[float64](t, tab, ratedTotal); n != 0 {
		t.Fatalf("the rate chart counts %v commands before any was sent", n)
	}
	if n := eval[float64](t, tab, latencyDots); n != 0 {
		t.Fatalf("the latency chart has %v points before any command", n)
	}
	wait(t, tab, "the connector's channel, connected", connectorState+` === "connected"`)
	linesOut := eval[float64](t, tab, connectorOut)
	wait(t, tab, "the database table", `document.querySelector('#database tr[data-operation="set"]') !== null`)
	sets := eval[float64](t, tab, dbSets)

	// Commands sent through the bot show up while the page watches.
	for i := range 5 {
		h.Say("alice", fmt.Sprint("!echo ", i))
		h.Expect(fmt.Sprint("echo ", i))
	}
	h.Say("alice", "!fail")
	h.Expect("❌ no")
	// Database writes, from a client of the database service.
	for i := range 3 {
		if _, err := h.DB().Set(context.Background(), "notes", database.IntID(int64(i+1)), map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, tab, "the rate chart to count the commands", ratedTotal+` >= 6`)
	// The connector said the six answers in its channel.
	wait(t, tab, "the connector's lines out to grow", fmt.Sprintf(`%s >= %v`, connectorOut, linesOut+6))
	wait(t, tab, "the database's sets to grow", fmt.Sprintf(`%s >= %v`, dbSets, sets+3))
	wait(t, tab, "the database chart to draw them", `Number(document.getElementById("db-chart").dataset.total || 0) >= 3`)
	wait(t, tab, "the latency chart to draw", latencyDots+` >= 1 && document.querySelector("#latency-chart path.p99").getAttribute("d").length > 0`)
	wait(t, tab, "echo's requests to grow", fmt.Sprintf(`%s >= %v`, echoRequests, before+6))
	wait(t, tab, "echo's commands of the last minute", `Number(document.querySelector('#plugins tr[data-plugin="echo"] td:nth-of-type(6)')?.textContent) >= 6`)
	wait(t, tab, "echo's p95", `/ms$/.test(document.querySelector('#plugins tr[data-plugin="echo"] td:nth-of-type(7)')?.textContent)`)
	wait(t, tab, "the NATS message rates", `Number(document.getElementById("messages-chart").dataset.total || 0) > 0`)
	wait(t, tab, "the latest command listed", `document.querySelector("#recent tbody tr td:nth-of-type(2)")?.textContent === "echo: fail"`)
	wait(t, tab, "the error listed", `document.querySelector("#errors tbody tr td:nth-of-type(3)")?.textContent === "error"`)
	wait(t, tab, "the summary rate", `Number(document.getElementById("rate").textContent) > 0`)
	if p99 := eval[string](t, tab, `document.getElementById("p99").textContent`); !strings.HasSuffix(p99, "ms") && !strings.HasSuffix(p99, " s") {
		t.Fatalf("p99 reads %q", p99)
	}
	// Once commands come from several channels, each row says which.
	if err := h.Bus().Publish(context.Background(), protocol.Chat, protocol.ChatMessage{User: "bob", Message: "!echo there",
		Channel: "lounge2", Rank: 1, Time: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	h.Expect("echo there")
	wait(t, tab, "the other channel named", `document.querySelector("#recent tbody tr td:nth-of-type(2)")?.textContent === "#lounge2 echo: echo"`)

	// A plugin's error is shown as text, not run as markup.
	wait(t, tab, "the hostile plugin's error", `document.querySelector('#plugins tr[data-plugin="hostile"] td:nth-of-type(8)')?.textContent.includes(`+strconv.Quote(hostileError)+`)`)
	if n := eval[float64](t, tab, `document.querySelectorAll("#plugins img, #plugins script").length`); n != 0 {
		t.Fatal("a plugin's error became markup in the page")
	}
	if pwned := eval[string](t, tab, `document.body.dataset.pwned || ""`); pwned != "" {
		t.Fatalf("a plugin's error ran as script (%s)", pwned)
	}
	// Every control has an accessible name.
	if unnamed := eval[[]string](t, tab, `[...document.querySelectorAll("button, input")].filter((e) =>
		e.tagName === "INPUT" ? e.labels.length === 0 : !(e.getAttribute("aria-label") || e.textContent.trim())).map((e) => e.outerHTML)`); len(unnamed) > 0 {
		t.Fatalf("controls without an accessible name: %v", unnamed)
	}
	// No user name or text reaches the page.
	if body := eval[string](t, tab, `document.body.innerText`); strings.Contains(body, "alice") {
		t.Fatal("the page shows a user name")
	}

	// Without the token an action is refused and changes nothing.
	do(t, tab, "disable echo without a token", chromedp.Click(chromedp.CSS(`button[aria-label="Disable echo"]`)))
	wait(t, tab, "the refusal", actionResult+`.startsWith("Refused (401)")`)
	if got := eval[string](t, tab, echoState); got != plugin.StateStarted {
		t.Fatalf("echo is %q after a refused disable", got)
	}

	// With it, the action works and the table follows.
	do(t, tab, "enter the token",
		chromedp.SendKeys(chromedp.CSS(`#token`), token),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#logout`)))
	do(t, tab, "disable echo", chromedp.Click(chromedp.CSS(`button[aria-label="Disable echo"]`)))
	wait(t, tab, "the action's answer", actionResult+`.startsWith("Disabled echo")`)
	wait(t, tab, "echo shown as not started", echoState+` !== "started"`)
	h.Say("alice", "!echo gone")
	h.Expect("Unknown command")
	do(t, tab, "enable echo", chromedp.WaitEnabled(chromedp.CSS(`button[aria-label="Enable echo"]`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="Enable echo"]`)))
	wait(t, tab, "echo started again", echoState+` === "started"`)
	h.Say("alice", "!echo back")
	h.Expect("echo back")
	screenshot(t, tab, "laptop")

	// On a phone's width nothing overflows the page sideways.
	seen := eval[float64](t, tab, updates)
	do(t, tab, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	wait(t, tab, "an update at phone width", fmt.Sprintf("%s > %v", updates, seen))
	if over := eval[bool](t, tab, `document.documentElement.scrollWidth > window.innerWidth`); over {
		t.Fatalf("the page is wider than a phone: %v > %v", eval[float64](t, tab, `document.documentElement.scrollWidth`), eval[float64](t, tab, `window.innerWidth`))
	}
	screenshot(t, tab, "phone")
}
