package scheduler_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/scheduler"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { os.Exit(tenantrytest.Main(m)) }

// accept commits a subaccount and its command without publishing it, as
// an API that died right after commit would leave it.
func accept(t *testing.T, st *store.Store, partnerID, externalID string) {
	t.Helper()
	cmd := &tenantry.Command{Kind: tenantry.KindProvision}
	a := &tenantry.Subaccount{PartnerID: partnerID, ExternalID: externalID}
	require.NoError(t, st.CreateSubaccount(context.Background(), a, cmd))
}

// commands counts the messages on the COMMANDS stream.
func commands(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), events.StreamCommands)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

// setup returns a store on a database of the test's own (scheduler
// leadership is per database), a NATS with tenantry's streams, and a
// partner.
func setup(t *testing.T) (context.Context, *store.Store, jetstream.JetStream, *events.Publisher, *tenantry.Partner) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, tenantrytest.Database(t))
	require.NoError(t, err)
	t.Cleanup(st.Close)
	nc, js, err := events.Connect(tenantrytest.NATS(t).ClientURL(), "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	require.NoError(t, events.EnsureStreams(ctx, js, 1))
	p := &tenantry.Partner{Name: "p"}
	require.NoError(t, st.CreatePartner(ctx, p))
	return ctx, st, js, events.NewPublisher(js, time.Second), p
}

func TestRelayAndFailover(t *testing.T) {
	t.Parallel()
	ctx, st, js, pub, p := setup(t)

	cfg := scheduler.Config{Interval: 20 * time.Millisecond, RepublishAfter: 50 * time.Millisecond}
	a := scheduler.New(cfg, st, pub, zaptest.NewLogger(t).Named("a"))
	b := scheduler.New(cfg, st, pub, zaptest.NewLogger(t).Named("b"))
	require.NoError(t, a.Start(ctx))
	require.NoError(t, b.Start(ctx))
	defer a.Stop()
	defer b.Stop()
	require.Eventually(t, func() bool { return a.Leading() || b.Leading() }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.NotEqual(t, a.Leading(), b.Leading(), "exactly one leader")

	accept(t, st, p.ID, "first")
	require.Eventually(t, func() bool { return commands(t, js) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the committed but unpublished command is published")
	time.Sleep(200 * time.Millisecond)
	unpublished, err := st.Unpublished(ctx, 0, 10)
	require.NoError(t, err)
	require.Empty(t, unpublished, "and marked published, so it is not sent again")

	leader, follower := a, b
	if b.Leading() {
		leader, follower = b, a
	}
	leader.Stop()
	require.Eventually(t, follower.Leading, 5*time.Second, 10*time.Millisecond, "the other scheduler takes over")
	accept(t, st, p.ID, "second")
	require.Eventually(t, func() bool { return commands(t, js) == 2 }, 5*time.Second, 10*time.Millisecond)
}

// TestStaleCommandResent: a command JetStream acknowledged but then lost
// (here: the stream is purged) while its job is still queued is sent
// again, so accepted work is never stranded.
func TestStaleCommandResent(t *testing.T) {
	t.Parallel()
	ctx, st, js, pub, p := setup(t)
	s := scheduler.New(scheduler.Config{Interval: 20 * time.Millisecond, RepublishAfter: 20 * time.Millisecond,
		StaleAfter: 300 * time.Millisecond}, st, pub, zaptest.NewLogger(t))
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	accept(t, st, p.ID, "lost")
	require.Eventually(t, func() bool { return commands(t, js) == 1 }, 5*time.Second, 10*time.Millisecond)

	stream, err := js.Stream(ctx, events.StreamCommands)
	require.NoError(t, err)
	require.NoError(t, stream.Purge(ctx))
	require.Zero(t, commands(t, js))
	require.Eventually(t, func() bool { return commands(t, js) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the still-queued job's command is sent again")
}
