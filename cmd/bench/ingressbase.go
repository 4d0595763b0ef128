package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// bareServer is a net/http server with nothing of tenantry's in it, on
// a loopback listener of its own. It reads each POST's body in full and
// answers as the route it stands in for: /hook 202 with a body shaped
// like the webhook receiver's, /endpoint 200 {"ok":true}; /relay sends
// the body as a NATS request to a responder that answers {"ok":true}, and
// answers 200 with the reply. It counts its answers, so that a run can be
// checked against them.
type bareServer struct {
	URL      string
	srv      *http.Server
	done     chan struct{}
	echo     *nats.Subscription
	answered atomic.Int64
}

// relaySubject is where the bare server's /relay sends its requests.
const relaySubject = "relay.echo" // outside every stream

func startBareServer(nc *nats.Conn) (*bareServer, error) {
	echo, err := nc.QueueSubscribe(relaySubject, "bench", func(m *nats.Msg) { _ = m.Respond([]byte(`{"ok":true}`)) })
	if err != nil {
		return nil, fmt.Errorf("bare handler's responder: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = echo.Unsubscribe()
		return nil, fmt.Errorf("bare handler: %w", err)
	}
	s := &bareServer{URL: "http://" + ln.Addr().String(), done: make(chan struct{}), echo: echo}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", s.answer(http.StatusAccepted, func(r *http.Request) []byte {
		b, _ := json.Marshal(map[string]string{"id": "whk_bare", "webhook_id": r.Header.Get("Webhook-Id")}) // strings: cannot fail
		return b
	}))
	mux.HandleFunc("POST /endpoint", s.answer(http.StatusOK, func(*http.Request) []byte { return []byte(`{"ok":true}`) }))
	mux.HandleFunc("POST /relay", s.relay(nc))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { defer close(s.done); _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *bareServer) answer(status int, body func(*http.Request) []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body(r))
		s.answered.Add(1)
	}
}

// relay answers with what the responder replies to the request's body,
// 502 if it does not.
func (s *bareServer) relay(nc *nats.Conn) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply, err := nc.RequestWithContext(r.Context(), relaySubject, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply.Data)
		s.answered.Add(1)
	}
}

// check confirms that the server answered exactly the n requests a run
// completed since the last check.
func (s *bareServer) check(name string, n int) error {
	if got := s.answered.Swap(0); got != int64(n) {
		return fmt.Errorf("%s: the client completed %d requests, the server answered %d", name, n, got)
	}
	return nil
}

// Close stops the server. Safe to call twice.
func (s *bareServer) Close() error {
	_ = s.echo.Unsubscribe()
	err := s.srv.Close()
	<-s.done
	return err
}

// rawPublisher is ingress's JetStream publish alone: a synchronous
// js.PublishMsg of a copy of a message the webhook receiver published
// (the same body and headers) with a fresh Nats-Msg-Id, to the BENCH
// stream on the same server (configured like tenantry's streams), where
// no consumer reads it.
type rawPublisher struct {
	js      jetstream.JetStream
	stream  jetstream.Stream // BENCH
	subject string
	header  nats.Header
	data    []byte
	timeout time.Duration
	seq     atomic.Int64
}

// newRawPublisher copies the last message of subject on webhooks.
func newRawPublisher(ctx context.Context, js jetstream.JetStream, webhooks jetstream.Stream, subject string, timeout time.Duration) (*rawPublisher, error) {
	msg, err := webhooks.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("copy a webhook message: %w", err)
	}
	bench, err := js.Stream(ctx, "BENCH")
	if err != nil {
		return nil, fmt.Errorf("stream BENCH: %w", err)
	}
	msg.Header.Del(nats.MsgIdHdr)
	return &rawPublisher{js: js, stream: bench, subject: "bench." + subject, header: msg.Header, data: msg.Data, timeout: timeout}, nil
}

// publish publishes the copy and waits for JetStream's acknowledgement.
func (p *rawPublisher) publish(ctx context.Context, _ int, start time.Time) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// WithMsgID sets a header: each message needs a map of its own.
	m := &nats.Msg{Subject: p.subject, Data: p.data, Header: maps.Clone(p.header)}
	ack, err := p.js.PublishMsg(ctx, m, jetstream.WithMsgID("raw-"+strconv.FormatInt(p.seq.Add(1), 10)))
	if err != nil {
		return sample{}, fmt.Errorf("raw publish: %w", err)
	}
	if ack.Duplicate {
		return sample{}, fmt.Errorf("raw publish: stored as a duplicate")
	}
	return sample{done: time.Since(start)}, nil
}

// stored is how many messages BENCH holds.
func (p *rawPublisher) stored(ctx context.Context) (uint64, error) {
	info, err := p.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream BENCH: %w", err)
	}
	return info.State.Msgs, nil
}
