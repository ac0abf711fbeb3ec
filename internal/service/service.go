// Package service serves NATS endpoints as a service of the NATS micro
// protocol: it answers $SRV.PING, $SRV.INFO and $SRV.STATS (for all
// services, by name, and by name and id) with the protocol's JSON, so
// `nats micro ls` and Rosey's plugin directory see it like any other.
//
// It replaces nats.go's micro package inside Rosey for one reason: cost.
// micro drains each of a service's nine discovery subscriptions on Stop,
// one flush per subscription, in goroutines of their own; with a dozen
// services a bot spent most of its start and stop in those round trips.
// Here Stop unsubscribes the discovery subjects at once and drains only the
// endpoints (whose requests must not be dropped). The response types are
// micro's own, so the wire format cannot drift from it.
package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
)

// Error headers of the micro protocol, set on error replies.
const (
	ErrorHeader     = "Nats-Service-Error"
	ErrorCodeHeader = "Nats-Service-Error-Code"
)

// ErrInvalid is returned for a bad name, version or endpoint.
var ErrInvalid = errors.New("service: invalid config")

// Config describes a service.
type Config struct {
	// Name may hold letters, digits, '-' and '_'.
	Name string
	// Version is a semantic version ("1.0.0").
	Version     string
	Description string
	Metadata    map[string]string
	// QueueGroup is the queue group of every endpoint; "" for none.
	QueueGroup string
	// StatsData, when set, gives each endpoint's "data" in the $SRV.STATS
	// answer (micro's EndpointStats.Data): figures of the service's own,
	// gathered over NATS like the counts. It is called with the endpoint's
	// name at every STATS request and must be quick; nil leaves data out.
	StatsData func(endpoint string) any
}

// Handler serves one request. Statistics count it when Handler returns,
// so it should have answered by then, unless it calls Request.Later.
type Handler func(*Request)

// Service is one running service instance.
type Service struct {
	nc      *nats.Conn
	cfg     Config
	id      string
	started time.Time

	mu      sync.Mutex
	verbs   []*nats.Subscription
	eps     []*endpoint
	stopped bool
}

type endpoint struct {
	name    string
	subject string
	queue   string
	sub     *nats.Subscription
	// stats is guarded by Service.mu.
	stats micro.EndpointStats
}

// New starts answering the discovery verbs for a service described by cfg.
func New(nc *nats.Conn, cfg Config) (*Service, error) {
	if !validName(cfg.Name) {
		return nil, fmt.Errorf("%w: name %q: use letters, digits, '-' and '_'", ErrInvalid, cfg.Name)
	}
	if cfg.Version == "" {
		return nil, fmt.Errorf("%w: version is required", ErrInvalid)
	}
	s := &Service{nc: nc, cfg: cfg, id: nuid.Next(), started: time.Now().UTC()}
	// Exact subjects rather than "$SRV.*.<name>": a least-privilege NATS
	// user is usually allowed exactly these.
	for _, verb := range []string{"PING", "INFO", "STATS"} {
		for _, subj := range []string{"$SRV." + verb, "$SRV." + verb + "." + cfg.Name, "$SRV." + verb + "." + cfg.Name + "." + s.id} {
			sub, err := nc.Subscribe(subj, s.onVerb)
			if err != nil {
				_ = s.Stop()
				return nil, fmt.Errorf("service %s: subscribe %s: %w", cfg.Name, subj, err)
			}
			s.verbs = append(s.verbs, sub)
		}
	}
	return s, nil
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// AddEndpoint serves subject with h, in the service's queue group.
func (s *Service) AddEndpoint(name, subject string, h Handler) error {
	if name == "" || subject == "" || h == nil {
		return fmt.Errorf("%w: endpoint needs a name, a subject and a handler", ErrInvalid)
	}
	e := &endpoint{name: name, subject: subject, queue: s.cfg.QueueGroup}
	e.stats.Name, e.stats.Subject, e.stats.QueueGroup = name, subject, e.queue
	sub, err := s.nc.QueueSubscribe(subject, e.queue, func(m *nats.Msg) {
		start := time.Now()
		// Counted on arrival (errors when sent), so that whoever saw the
		// answer also sees it counted.
		s.mu.Lock()
		e.stats.NumRequests++
		s.mu.Unlock()
		r := &Request{msg: m, start: start, s: s, e: e}
		h(r)
		if !r.later {
			r.done()
		}
	})
	if err != nil {
		return fmt.Errorf("service %s: subscribe %s: %w", s.cfg.Name, subject, err)
	}
	// A burst of requests must not be dropped as a slow consumer.
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	e.sub = sub
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		_ = sub.Unsubscribe()
		return fmt.Errorf("service %s: stopped", s.cfg.Name)
	}
	s.eps = append(s.eps, e)
	return nil
}

// ID is the instance's unique id.
func (s *Service) ID() string { return s.id }

func (s *Service) identity() micro.ServiceIdentity {
	return micro.ServiceIdentity{Name: s.cfg.Name, ID: s.id, Version: s.cfg.Version, Metadata: maps.Clone(s.cfg.Metadata)}
}

// Info is the $SRV.INFO answer.
func (s *Service) Info() micro.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := make([]micro.EndpointInfo, 0, len(s.eps))
	for _, e := range s.eps {
		eps = append(eps, micro.EndpointInfo{Name: e.name, Subject: e.subject, QueueGroup: e.queue})
	}
	return micro.Info{ServiceIdentity: s.identity(), Type: micro.InfoResponseType, Description: s.cfg.Description, Endpoints: eps}
}

// Stats is the $SRV.STATS answer.
func (s *Service) Stats() micro.Stats {
	s.mu.Lock()
	st := micro.Stats{ServiceIdentity: s.identity(), Type: micro.StatsResponseType, Started: s.started, Endpoints: make([]*micro.EndpointStats, 0, len(s.eps))}
	for _, e := range s.eps {
		es := e.stats
		st.Endpoints = append(st.Endpoints, &es)
	}
	s.mu.Unlock()
	// Outside the lock: StatsData is the caller's code.
	if s.cfg.StatsData != nil {
		for _, es := range st.Endpoints {
			if v := s.cfg.StatsData(es.Name); v != nil {
				if b, err := json.Marshal(v); err == nil {
					es.Data = b
				}
			}
		}
	}
	return st
}

func (s *Service) onVerb(m *nats.Msg) {
	// $SRV.<VERB>[.<name>[.<id>]]: the verb is the second token.
	verb := m.Subject[len("$SRV."):]
	for i := 0; i < len(verb); i++ {
		if verb[i] == '.' {
			verb = verb[:i]
			break
		}
	}
	var v any
	switch verb {
	case "PING":
		v = micro.Ping{ServiceIdentity: s.identity(), Type: micro.PingResponseType}
	case "INFO":
		v = s.Info()
	case "STATS":
		v = s.Stats()
	default:
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		return
	}
	_ = m.Respond(body)
}

// Stop stops answering: the discovery subscriptions end at once, the
// endpoints drain (requests already delivered are still served). Safe to
// call more than once.
func (s *Service) Stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	verbs, eps := s.verbs, s.eps
	s.mu.Unlock()
	var errs []error
	for _, sub := range verbs {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, err)
		}
	}
	for _, e := range eps {
		if err := e.sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Drained reports whether every endpoint's drain after Stop is done: all
// the requests delivered to the service have been handed to its handlers
// (the last may still be running).
func (s *Service) Drained() bool {
	s.mu.Lock()
	eps := s.eps
	s.mu.Unlock()
	for _, e := range eps {
		if e.sub.IsValid() {
			return false
		}
	}
	return true
}

// Request is one request to an endpoint.
type Request struct {
	msg   *nats.Msg
	start time.Time
	s     *Service
	e     *endpoint
	later bool // Later was called
}

// Later lets the handler return before it answers, to answer from another
// goroutine: the request's processing time is then counted when the
// returned function is called, which must be once the answer is sent.
// It must be called before the handler returns.
func (r *Request) Later() (answered func()) {
	r.later = true
	return r.done
}

// done counts the request's processing time.
func (r *Request) done() {
	took := time.Since(r.start)
	r.s.mu.Lock()
	r.e.stats.ProcessingTime += took
	r.e.stats.AverageProcessingTime = r.e.stats.ProcessingTime / time.Duration(r.e.stats.NumRequests)
	r.s.mu.Unlock()
}

// Received is when the request was handed to its handler.
func (r *Request) Received() time.Time { return r.start }

// Msg is the request's NATS message.
func (r *Request) Msg() *nats.Msg { return r.msg }

// Data is the request's body.
func (r *Request) Data() []byte { return r.msg.Data }

// Header is the request's headers (nil when it had none).
func (r *Request) Header() nats.Header { return r.msg.Header }

// Subject is the subject the request came on.
func (r *Request) Subject() string { return r.msg.Subject }

// Reply is the request's reply subject.
func (r *Request) Reply() string { return r.msg.Reply }

// Respond answers with data and the given headers (may be nil).
func (r *Request) Respond(data []byte, hdr nats.Header) error {
	return r.msg.RespondMsg(&nats.Msg{Data: data, Header: hdr})
}

// Failed counts the request as an error in the statistics without
// answering: for a service whose answers carry their errors in the body.
func (r *Request) Failed(code, description string) {
	r.s.mu.Lock()
	r.e.stats.NumErrors++
	r.e.stats.LastError = code + ":" + description
	r.s.mu.Unlock()
}

// Error answers with the micro protocol's error headers, and counts the
// request as an error in the statistics.
func (r *Request) Error(code, description string, data []byte, hdr nats.Header) error {
	if code == "" || description == "" {
		return fmt.Errorf("%w: an error needs a code and a description", ErrInvalid)
	}
	h := nats.Header{}
	maps.Copy(h, hdr)
	h[ErrorHeader] = []string{description}
	h[ErrorCodeHeader] = []string{code}
	r.Failed(code, description) // counted before it is sent, like the request itself
	return r.msg.RespondMsg(&nats.Msg{Data: data, Header: h})
}
