package dbservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/busevent"
	"github.com/roseybot/rosey/internal/flatjson"
	"github.com/roseybot/rosey/internal/service"
)

// Version is reported by the micro service.
const Version = "1.0.0"

// Service answers the database subjects over NATS. It is a NATS micro
// service named "database", so `nats micro info database` shows its
// endpoints and stats. Several copies may run against one PostgreSQL
// database; they share the load through the micro queue group.
type Service struct {
	bus   *eventbus.Bus
	store *Store
	svc   *service.Service

	mu       sync.Mutex
	stopping bool
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
}

// handlerFunc answers one request. ns is the namespace named by the
// request's subject, or "" on the default subjects.
type handlerFunc func(ctx context.Context, s *Store, ns string, body []byte) (any, error)

// writeHandlerFunc checks a write request and returns the write for the
// store's writer, whose result is the reply's data.
type writeHandlerFunc func(s *Store, ns string, body []byte) (*write, error)

// Start opens the database cfg names and starts answering on bus.
func Start(ctx context.Context, bus *eventbus.Bus, cfg Config) (*Service, error) {
	store, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s, err := Serve(ctx, bus, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// Serve answers the database subjects on bus from an open store. Stop
// closes the store.
func Serve(ctx context.Context, bus *eventbus.Bus, store *Store) (*Service, error) {
	s := &Service{bus: bus, store: store}
	svc, err := service.New(bus.Conn(), service.Config{
		Name:        database.ServiceName,
		Version:     Version,
		Description: "Rosey document store",
	})
	if err != nil {
		return nil, fmt.Errorf("dbservice: add service: %w", err)
	}
	s.svc = svc
	endpoints := []struct {
		name, subject string
		h             handlerFunc
		w             writeHandlerFunc
	}{
		{"set", database.SubjectSet, nil, handleSet},
		{"get", database.SubjectGet, handleGet, nil},
		{"query", database.SubjectQuery, handleQuery, nil},
		{"delete", database.SubjectDelete, nil, handleDelete},
		{"update", database.SubjectUpdate, nil, handleUpdate},
		{"count", database.SubjectCount, handleCount, nil},
		{"schema-register", database.SubjectSchemaRegister, nil, handleSchema},
	}
	for _, e := range endpoints {
		handler := func(namespaced bool) service.Handler {
			if e.w != nil {
				return s.writeEndpoint(e.w, namespaced)
			}
			return s.endpoint(e.h, namespaced)
		}
		if err := svc.AddEndpoint(e.name, bus.Subject(e.subject), handler(false)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("dbservice: add endpoint %s: %w", e.subject, err)
		}
		// The same operation in a namespace: database.<namespace>.<op>.
		op := strings.TrimPrefix(e.subject, "database.")
		subject := database.NamespaceSubject("*", op)
		if err := svc.AddEndpoint("ns-"+e.name, bus.Subject(subject), handler(true)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("dbservice: add endpoint %s: %w", subject, err)
		}
	}
	// Make sure the server has the subscriptions before Start returns, so
	// a request sent right after never meets "no responders".
	fctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := bus.Flush(fctx); err != nil {
		_ = svc.Stop()
		return nil, err
	}
	return s, nil
}

// Store returns the service's store.
func (s *Service) Store() *Store { return s.store }

// Info returns the micro service's description (id, endpoints, subjects).
func (s *Service) Info() micro.Info { return s.svc.Info() }

// Stop stops taking requests, waits for those in flight, and closes the
// database. It is safe to call more than once.
func (s *Service) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		var errs []error
		if err := s.svc.Stop(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("dbservice: stop micro service: %w", err))
		}
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			// Closing the database under running requests makes them fail
			// cleanly; their goroutines finish on their own.
			errs = append(errs, fmt.Errorf("dbservice: stop: %w", ctx.Err()))
		}
		if err := s.store.Close(); err != nil {
			errs = append(errs, err)
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// Run starts the service alone and serves until ctx ends, then stops it.
// It is what a process running only the database component calls.
func Run(ctx context.Context, bus *eventbus.Bus, cfg Config) error {
	s, err := Start(ctx, bus, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Stop(context.WithoutCancel(ctx))
}

// admit reads a request and counts it in flight (s.wg); when the service
// is stopping it answers so and ok is false. With namespaced set, the
// request's namespace is the subject's second token
// (database.<namespace>.<op>): it comes from what the NATS server let the
// sender publish on, never from the body.
func (s *Service) admit(req *service.Request, namespaced bool) (ev *eventbus.Event, ns string, ok bool) {
	ev = busevent.FromMsg(req.Msg(), s.bus.Prefix())
	if namespaced {
		ns = namespaceOf(ev.Subject)
	}
	s.mu.Lock()
	stopping := s.stopping
	if !stopping {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if stopping {
		s.respond(context.Background(), req, ev, nil, fmt.Errorf("%w: the database service is stopping", database.ErrUnavailable))
		return ev, "", false
	}
	return ev, ns, true
}

// endpoint adapts h to a micro handler, answering before it returns.
func (s *Service) endpoint(h handlerFunc, namespaced bool) service.Handler {
	return func(req *service.Request) {
		ev, ns, ok := s.admit(req, namespaced)
		if !ok {
			return
		}
		// Served on the endpoint's own subscription: micro's statistics
		// (requests, errors, latency) are only right for a handler that has
		// answered when it returns. Each endpoint has its own subscription,
		// so gets, sets and queries still run side by side.
		func() {
			defer s.wg.Done()
			ctx := eventbus.WithCorrelationID(context.Background(), ev.CorrelationID)
			replied := false
			defer func() {
				if r := recover(); r != nil {
					if !replied {
						s.respond(ctx, req, ev, nil, fmt.Errorf("%w: handler panic", database.ErrInternal))
					}
					s.bus.Logger().Error("database handler panic recovered", "subject", ev.Subject, "panic", r,
						"correlation_id", ev.CorrelationID, "stack", string(debug.Stack()))
				}
			}()
			data, err := h(ctx, s.store, ns, ev.Data)
			replied = true
			s.respond(ctx, req, ev, data, err)
		}()
	}
}

// writeEndpoint adapts h to a micro handler that hands the write to the
// store's writer and returns: the reply is sent once the transaction
// holding the write has committed. Returning at once is what lets writes
// arriving on one subscription gather in one transaction; they reach the
// writer's queue in the order they arrived.
func (s *Service) writeEndpoint(h writeHandlerFunc, namespaced bool) service.Handler {
	return func(req *service.Request) {
		ev, ns, ok := s.admit(req, namespaced)
		if !ok {
			return
		}
		answered := req.Later()
		ctx := eventbus.WithCorrelationID(context.Background(), ev.CorrelationID)
		var w *write
		err := fmt.Errorf("%w: handler panic", database.ErrInternal) // unless h returns
		defer func() {
			if w != nil {
				return // the writer answers
			}
			// h refused the request, or panicked.
			if r := recover(); r != nil {
				s.bus.Logger().Error("database handler panic recovered", "subject", ev.Subject, "panic", r,
					"correlation_id", ev.CorrelationID, "stack", string(debug.Stack()))
			}
			s.respond(ctx, req, ev, nil, err)
			answered()
			s.wg.Done()
		}()
		if w, err = h(s.store, ns, ev.Data); err != nil {
			w = nil
			return
		}
		s.store.submit(w, func() {
			s.respond(ctx, req, ev, w.result, w.err)
			answered()
			s.wg.Done()
		})
	}
}

func (s *Service) respond(ctx context.Context, r *service.Request, req *eventbus.Event, data any, err error) {
	var rep database.Reply
	if err != nil {
		code := database.CodeOf(err)
		rep.Code = code
		rep.Error = err.Error()
		if code != database.CodeNotFound { // an answer, not a failure
			// The error travels in the reply's body, as the contract says;
			// the service's statistics (the monitor's errors by operation)
			// count it all the same. Anyone on the bus may read those
			// ($SRV.STATS), so they say the code and its generic text,
			// never the detail (SQL, paths, what the request held): that
			// goes to the log.
			r.Failed(string(code), strings.TrimPrefix(code.Err().Error(), "database: "))
		}
		switch code {
		case database.CodeInternal:
			s.store.log.Error("database request failed", "subject", req.Subject, "err", err, "correlation_id", eventbus.CorrelationID(ctx))
			rep.Error = "internal error (see the service log)"
		case database.CodeNotFound:
		default:
			s.store.log.Debug("database request refused", "subject", req.Subject, "code", code, "err", err, "correlation_id", eventbus.CorrelationID(ctx))
		}
	} else {
		rep.Success = true
		switch d := data.(type) {
		case json.RawMessage:
			rep.Data = d
		case database.SetResult:
			// The reply of every set, written without reflection.
			rep.Data = encodeSetResult(d)
		default:
			b, merr := json.Marshal(d)
			if merr != nil {
				rep = database.Reply{Code: database.CodeInternal, Error: "internal error (see the service log)"}
				s.store.log.Error("encode reply", "err", merr)
			} else {
				rep.Data = b
			}
		}
	}
	var body []byte
	if rep.Success {
		// Data is JSON this service produced or stored after checking, so
		// it is spliced in rather than re-validated by json.Marshal.
		body = make([]byte, 0, len(rep.Data)+32)
		body = append(body, `{"success":true,"data":`...)
		body = append(body, rep.Data...)
		body = append(body, '}')
	} else {
		body, _ = json.Marshal(rep)
	}
	if rerr := s.bus.Respond(ctx, req, body); rerr != nil {
		s.store.log.Warn("database reply failed", "subject", req.Subject, "err", rerr)
	}
}

// decode reads a request body strictly: malformed JSON and unknown fields
// are refused, so a typo never silently becomes a different request.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty body", database.ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // filter and update numbers keep their exact digits
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && onlySpace(body[dec.InputOffset():]) {
		return nil
	}
	// Whether the body is JSON at all is only asked on failure, so that a
	// good body is scanned once less.
	if !json.Valid(body) {
		return fmt.Errorf("%w: the body is not valid JSON", database.ErrMalformed)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return invalid("%s: wrong type (got JSON %s)", te.Field, te.Value)
	}
	return invalid("%v", err)
}

// onlySpace reports whether b holds nothing but JSON whitespace.
func onlySpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func handleSet(st *Store, ns string, body []byte) (*write, error) {
	var req database.SetRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	return st.setWrite(req)
}

func handleGet(ctx context.Context, st *Store, ns string, body []byte) (any, error) {
	var req database.GetRequest
	if !fastGet(body, &req) {
		if err := decode(body, &req); err != nil {
			return nil, err
		}
	}
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	return st.Get(ctx, req)
}

// fastGet reads a get request of the plain shape clients send without
// reflection, reporting false for anything else (which decode then reads,
// with the same result).
func fastGet(body []byte, req *database.GetRequest) bool {
	var g database.GetRequest
	ok := flatjson.Scan(body, func(k []byte, v flatjson.Value) bool {
		switch string(k) {
		case "collection":
			return v.Str(&g.Collection)
		case "id":
			var s string
			var n int64
			switch {
			case v.Str(&s):
				g.ID = database.StringID(s)
			case v.Int(&n):
				g.ID = database.IntID(n)
			default:
				return false
			}
			return true
		}
		return false
	})
	if ok {
		*req = g
	}
	return ok
}

func handleDelete(st *Store, ns string, body []byte) (*write, error) {
	var req database.DeleteRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	return st.deleteWrite(req)
}

func handleQuery(ctx context.Context, st *Store, ns string, body []byte) (any, error) {
	var req database.QueryRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	return st.Query(ctx, req)
}

func handleCount(ctx context.Context, st *Store, ns string, body []byte) (any, error) {
	var req database.CountRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	return st.Count(ctx, req)
}

func handleUpdate(st *Store, ns string, body []byte) (*write, error) {
	var req database.UpdateRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	return st.updateWrite(req)
}

func handleSchema(st *Store, ns string, body []byte) (*write, error) {
	var req database.SchemaRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	name := req.Collection
	if err := scope(ns, &req.Collection); err != nil {
		return nil, err
	}
	w, err := st.schemaWrite(req)
	if err != nil {
		return nil, err
	}
	apply := w.apply
	w.apply = func(ctx context.Context, tx *wtx) error {
		if err := apply(ctx, tx); err != nil {
			return err
		}
		res := w.result.(database.SchemaResult)
		res.Collection = name // as the client named it, without its namespace
		w.result = res
		return nil
	}
	return w, nil
}

// encodeSetResult writes what json.Marshal writes for r.
func encodeSetResult(r database.SetResult) []byte {
	b := make([]byte, 0, 16+len(r.ID.String()))
	b = append(b, `{"id":`...)
	if n, ok := r.ID.Int(); ok {
		b = strconv.AppendInt(b, n, 10)
	} else if b, ok = flatjson.AppendString(b, r.ID.String()); !ok || r.ID.IsZero() {
		b, _ = json.Marshal(r)
		return b
	}
	return append(b, '}')
}
