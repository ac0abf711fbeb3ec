package service_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/internal/service"
)

func start(t *testing.T) (*nats.Conn, *service.Service) {
	t.Helper()
	nc := natstest.Connect(t, natstest.StartServer(t), t.Name()).Conn()
	svc, err := service.New(nc, service.Config{Name: "echo", Version: "1.2.3", Description: "says it back", Metadata: map[string]string{"k": "v"}, QueueGroup: "q"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	err = svc.AddEndpoint("say", "echo.say", func(r *service.Request) {
		if string(r.Data()) == "fail" {
			_ = r.Error("400", "bad input", []byte(`{"error":"bad"}`), nats.Header{"X-Extra": {"1"}})
			return
		}
		_ = r.Respond(r.Data(), nats.Header{"X-Echo": {r.Subject()}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return nc, svc
}

func TestDiscoveryVerbsSpeakTheMicroProtocol(t *testing.T) {
	is := is.New(t)
	nc, svc := start(t)
	for _, subj := range []string{"$SRV.PING", "$SRV.PING.echo", "$SRV.PING.echo." + svc.ID()} {
		m, err := nc.Request(subj, nil, 2*time.Second)
		is.NoErr(err)
		var p micro.Ping
		is.NoErr(json.Unmarshal(m.Data, &p))
		is.Equal(p.Type, micro.PingResponseType)
		is.Equal(p.Name, "echo")
		is.Equal(p.ID, svc.ID())
		is.Equal(p.Version, "1.2.3")
		is.Equal(p.Metadata["k"], "v")
	}
	m, err := nc.Request("$SRV.INFO.echo", nil, 2*time.Second)
	is.NoErr(err)
	var info micro.Info
	is.NoErr(json.Unmarshal(m.Data, &info))
	is.Equal(info.Type, micro.InfoResponseType)
	is.Equal(info.Description, "says it back")
	is.Equal(len(info.Endpoints), 1)
	is.Equal(info.Endpoints[0], micro.EndpointInfo{Name: "say", Subject: "echo.say", QueueGroup: "q"})

	// Another service's name gets no answer from this one.
	_, err = nc.Request("$SRV.PING.other", nil, 100*time.Millisecond)
	is.True(errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout))
}

func TestRequestsErrorsAndStats(t *testing.T) {
	is := is.New(t)
	nc, _ := start(t)
	m, err := nc.Request("echo.say", []byte("hi"), 2*time.Second)
	is.NoErr(err)
	is.Equal(string(m.Data), "hi")
	is.Equal(m.Header.Get("X-Echo"), "echo.say")

	m, err = nc.Request("echo.say", []byte("fail"), 2*time.Second)
	is.NoErr(err)
	is.Equal(m.Header.Get(service.ErrorHeader), "bad input")
	is.Equal(m.Header.Get(service.ErrorCodeHeader), "400")
	is.Equal(m.Header.Get("X-Extra"), "1")
	is.Equal(string(m.Data), `{"error":"bad"}`)

	m, err = nc.Request("$SRV.STATS.echo", nil, 2*time.Second)
	is.NoErr(err)
	var st micro.Stats
	is.NoErr(json.Unmarshal(m.Data, &st))
	is.Equal(st.Type, micro.StatsResponseType)
	is.True(!st.Started.IsZero())
	is.Equal(len(st.Endpoints), 1)
	e := st.Endpoints[0]
	is.Equal(e.NumRequests, 2)
	is.Equal(e.NumErrors, 1)
	is.Equal(e.LastError, "400:bad input")
	is.True(e.ProcessingTime > 0)
}

func TestStopEndsDiscoveryAndEndpoints(t *testing.T) {
	is := is.New(t)
	nc, svc := start(t)
	is.NoErr(svc.Stop())
	is.NoErr(svc.Stop()) // twice is fine
	is.NoErr(nc.Flush())
	_, err := nc.Request("$SRV.PING.echo", nil, 200*time.Millisecond)
	is.True(err != nil)
	// The endpoint drains in the background; soon nobody answers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = nc.Request("echo.say", []byte("hi"), 200*time.Millisecond)
		if errors.Is(err, nats.ErrNoResponders) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint still answering after Stop: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	is.True(svc.AddEndpoint("late", "echo.late", func(*service.Request) {}) != nil)
}

func TestConfigIsValidated(t *testing.T) {
	is := is.New(t)
	nc := natstest.Connect(t, natstest.StartServer(t), t.Name()).Conn()
	for _, cfg := range []service.Config{
		{Name: "", Version: "1.0.0"},
		{Name: "has space", Version: "1.0.0"},
		{Name: "wild*", Version: "1.0.0"},
		{Name: "ok", Version: ""},
	} {
		_, err := service.New(nc, cfg)
		is.True(errors.Is(err, service.ErrInvalid))
	}
	svc, err := service.New(nc, service.Config{Name: "ok", Version: "1.0.0"})
	is.NoErr(err)
	defer svc.Stop()
	is.True(errors.Is(svc.AddEndpoint("", "x", func(*service.Request) {}), service.ErrInvalid))
}

// TestLaterCountsWhenAnswered: a handler that answers from another
// goroutine after it returns has its processing time counted when it says
// it has answered, not when it returned.
func TestLaterCountsWhenAnswered(t *testing.T) {
	is := is.New(t)
	nc, svc := start(t)
	release := make(chan struct{})
	err := svc.AddEndpoint("slow", "echo.slow", func(r *service.Request) {
		answered := r.Later()
		go func() {
			<-release
			_ = r.Respond([]byte("late"), nil)
			answered()
		}()
	})
	is.NoErr(err)
	is.NoErr(nc.Flush())
	stats := func() micro.EndpointStats {
		for _, e := range svc.Stats().Endpoints {
			if e.Name == "slow" {
				return *e
			}
		}
		t.Fatal("no stats for the endpoint")
		return micro.EndpointStats{}
	}
	reply := make(chan *nats.Msg, 2)
	_, err = nc.Subscribe("late.reply", func(m *nats.Msg) { reply <- m })
	is.NoErr(err)
	is.NoErr(nc.PublishRequest("echo.slow", "late.reply", []byte("x")))
	is.NoErr(nc.PublishRequest("echo.slow", "late.reply", []byte("y")))
	// A subscription delivers its next message once the handler of the one
	// before has returned: when the second is counted, the first handler
	// has returned, without having answered.
	deadline := time.Now().Add(10 * time.Second)
	for stats().NumRequests < 2 {
		if time.Now().After(deadline) {
			t.Fatal("request never counted")
		}
		time.Sleep(time.Millisecond)
	}
	is.Equal(stats().ProcessingTime, time.Duration(0))
	close(release)
	for range 2 {
		select {
		case m := <-reply:
			is.Equal(string(m.Data), "late")
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
		}
	}
	for stats().ProcessingTime == 0 {
		if time.Now().After(deadline) {
			t.Fatal("processing time never counted")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStatsDataRidesOnStats: what StatsData gives for an endpoint is that
// endpoint's "data" in the $SRV.STATS answer, read at each request.
func TestStatsDataRidesOnStats(t *testing.T) {
	is := is.New(t)
	nc := natstest.Connect(t, natstest.StartServer(t), t.Name()).Conn()
	var n int
	svc, err := service.New(nc, service.Config{Name: "figures", Version: "1.0.0", StatsData: func(endpoint string) any {
		if endpoint != "status" {
			return nil
		}
		n++
		return map[string]int{"asked": n}
	}})
	is.NoErr(err)
	defer svc.Stop()
	is.NoErr(svc.AddEndpoint("status", "figures.status", func(r *service.Request) { _ = r.Respond(nil, nil) }))
	is.NoErr(svc.AddEndpoint("other", "figures.other", func(r *service.Request) { _ = r.Respond(nil, nil) }))
	for want := 1; want <= 2; want++ {
		m, err := nc.Request("$SRV.STATS.figures", nil, 2*time.Second)
		is.NoErr(err)
		var st micro.Stats
		is.NoErr(json.Unmarshal(m.Data, &st))
		is.Equal(len(st.Endpoints), 2)
		for _, e := range st.Endpoints {
			switch e.Name {
			case "status":
				var d struct{ Asked int }
				is.NoErr(json.Unmarshal(e.Data, &d))
				is.Equal(d.Asked, want)
			default:
				is.Equal(len(e.Data), 0) // nil data is left out
			}
		}
	}
}
