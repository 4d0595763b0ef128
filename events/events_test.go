package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/tenantrytest"
)

// subject is where the consumer tests publish; its DLQ copy lands on
// "dlq." + subject.
const subject = "cmd.test.t1"

// setup starts a nats-server for t, connects to it and ensures the streams.
func setup(t *testing.T) (context.Context, jetstream.JetStream) {
	t.Helper()
	_, js := connect(t)
	require.NoError(t, events.EnsureStreams(t.Context(), js, 1))
	return t.Context(), js
}

// connect starts a nats-server without streams for t and connects to it.
func connect(t *testing.T) (*server.Server, jetstream.JetStream) {
	t.Helper()
	ns := tenantrytest.NATS(t)
	nc, js, err := events.Connect(ns.ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return ns, js
}

// publish sends "body-<id>" on subject with Nats-Msg-Id id and header.
func publish(t *testing.T, js jetstream.JetStream, id string, header map[string]string) {
	t.Helper()
	m := tenantry.Message{ID: id, Subject: subject, Header: header, Data: []byte("body-" + id)}
	require.NoError(t, events.NewPublisher(js, 5*time.Second).Publish(t.Context(), m))
}

// startConsumer runs h on the COMMANDS stream until t ends. Zero timings
// in cfg get values small enough for retries to take milliseconds.
func startConsumer(t *testing.T, js jetstream.JetStream, cfg events.ConsumerConfig, h events.Handler) *events.Consumer {
	t.Helper()
	c := events.NewConsumer(js, testConsumer(cfg), h, zaptest.NewLogger(t))
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(c.Stop)
	return c
}

// testConsumer is cfg on the COMMANDS stream, as durable "test", its zero
// timings small enough for retries to take milliseconds.
func testConsumer(cfg events.ConsumerConfig) events.ConsumerConfig {
	cfg.Stream, cfg.Durable = events.StreamCommands, "test"
	if cfg.AckWait == 0 {
		cfg.AckWait = 2 * time.Second
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	}
	return cfg
}

// consumerInfo returns the server's view of the test consumer.
func consumerInfo(t *testing.T, js jetstream.JetStream) *jetstream.ConsumerInfo {
	t.Helper()
	cons, err := js.Consumer(t.Context(), events.StreamCommands, "test")
	require.NoError(t, err)
	info, err := cons.Info(t.Context())
	require.NoError(t, err)
	return info
}

// requireSettled waits until the server holds no message for the test
// consumer: all n were delivered and acked or terminated, so none will be
// delivered again.
func requireSettled(t *testing.T, js jetstream.JetStream, n uint64) *jetstream.ConsumerInfo {
	t.Helper()
	var info *jetstream.ConsumerInfo
	require.Eventually(t, func() bool {
		info = consumerInfo(t, js)
		return info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream == n
	}, 5*time.Second, 10*time.Millisecond, "consumer never settled")
	return info
}

// dlqCopy waits for the dead-letter copy of the last message on subject.
func dlqCopy(t *testing.T, js jetstream.JetStream) *jetstream.RawStreamMsg {
	t.Helper()
	dlq, err := js.Stream(t.Context(), events.StreamDLQ)
	require.NoError(t, err)
	var got *jetstream.RawStreamMsg
	require.Eventually(t, func() bool {
		got, err = dlq.GetLastMsgForSubject(t.Context(), "dlq."+subject)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "no DLQ copy")
	return got
}
