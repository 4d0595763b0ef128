package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// DLQ headers: why a message was dead-lettered and where it came from.
const (
	HeaderDLQReason     = "Tenantry-Dlq-Reason" // "terminated" or "max_deliver"
	HeaderDLQSubject    = "Tenantry-Dlq-Subject"
	HeaderDLQStream     = "Tenantry-Dlq-Stream"
	HeaderDLQSequence   = "Tenantry-Dlq-Sequence"
	HeaderDLQDeliveries = "Tenantry-Dlq-Deliveries"
	HeaderDLQError      = "Tenantry-Dlq-Error"
)

// handle runs the handler on one delivery, heartbeating while it works,
// and settles the message by the handler's result.
func (c *Consumer) handle(msg jetstream.Msg) {
	m, ok := c.delivery(msg)
	if !ok {
		return
	}
	stop := c.heartbeat(msg)
	err := c.call(m)
	stop()
	c.settle(msg, m, err)
}

// delivery reads msg for a handler. It settles msg itself, and returns
// false, when msg has no metadata (terminated) or is past MaxDeliver.
func (c *Consumer) delivery(msg jetstream.Msg) (*Msg, bool) {
	md, err := msg.Metadata()
	if err != nil {
		c.log.Error("message without metadata; terminating", zap.Error(err))
		_ = msg.Term()
		return nil, false
	}
	m := &Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data(), Stream: md.Stream,
		Sequence: md.Sequence.Stream, Delivered: int(md.NumDelivered), Last: int(md.NumDelivered) >= c.cfg.MaxDeliver}
	if m.Delivered > c.cfg.MaxDeliver {
		// Only a failed DLQ copy leads here: retry the copy, not the work.
		c.settle(msg, m, errors.New("max deliveries exceeded; an earlier copy to the DLQ failed"))
		return nil, false
	}
	return m, true
}

// call runs the handler, turning a panic into an ordinary (retryable)
// error so one bad message cannot take the worker down.
func (c *Consumer) call(m *Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.panicked(r)
		}
	}()
	return c.handler(c.work, m)
}

// panicked logs a handler's panic r and returns it as an error.
func (c *Consumer) panicked(r any) error {
	c.log.Error("handler panic", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
	return fmt.Errorf("handler panic: %v", r)
}

// heartbeat tells JetStream the messages are in progress every
// AckWait/3 until the returned stop is called, so long work is not
// redelivered.
func (c *Consumer) heartbeat(msgs ...jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(c.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.inProgress(msgs)
			}
		}
	}()
	return func() { close(done); <-exited }
}

// inProgress resets the redelivery timer of msgs.
func (c *Consumer) inProgress(msgs []jetstream.Msg) {
	var errs []error
	for _, msg := range msgs {
		if err := msg.InProgress(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		c.log.Warn("in-progress heartbeat", zap.Int("failed", len(errs)), zap.Error(errs[0]))
	}
}

func (c *Consumer) settle(msg jetstream.Msg, m *Msg, err error) {
	log := c.log.With(zap.String("subject", m.Subject), zap.Uint64("seq", m.Sequence), zap.Int("delivered", m.Delivered))
	switch {
	case err == nil:
		ackErr := msg.Ack()
		logIf(log, ackErr, "ack")
	case IsPermanent(err) || m.Last:
		reason := "max_deliver"
		if IsPermanent(err) {
			reason = "terminated"
		}
		log.Warn("dead-lettering message", zap.String("reason", reason), zap.Error(err))
		if dlqErr := c.deadLetter(m, reason, err); dlqErr != nil {
			// Keep the message rather than lose it: it is retried later.
			log.Error("copy to DLQ failed; will retry", zap.Error(dlqErr))
			logIf(log, msg.NakWithDelay(c.cfg.BackoffMax), "nak")
			return
		}
		logIf(log, msg.TermWithReason(reason), "term")
	default:
		delay := c.backoff(m.Delivered)
		log.Info("handler failed; retrying", zap.Duration("delay", delay), zap.Error(err))
		logIf(log, msg.NakWithDelay(delay), "nak")
	}
}

// deadLetter copies m to dlq.<subject> with why it died. The copy's
// Nats-Msg-Id is derived from the original's stream position, so a second
// copy of the same message is dropped.
func (c *Consumer) deadLetter(m *Msg, reason string, cause error) error {
	h := nats.Header{}
	for k, v := range m.Header {
		if k != nats.MsgIdHdr {
			h[k] = v
		}
	}
	errText := cause.Error()
	if len(errText) > 1024 {
		errText = errText[:1024]
	}
	h.Set(HeaderDLQReason, reason)
	h.Set(HeaderDLQSubject, m.Subject)
	h.Set(HeaderDLQStream, m.Stream)
	h.Set(HeaderDLQSequence, strconv.FormatUint(m.Sequence, 10))
	h.Set(HeaderDLQDeliveries, strconv.Itoa(m.Delivered))
	h.Set(HeaderDLQError, errText)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id := fmt.Sprintf("dlq-%s-%d", m.Stream, m.Sequence)
	_, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: "dlq." + m.Subject, Header: h, Data: m.Data}, jetstream.WithMsgID(id))
	return err
}

// backoff is BackoffBase·2^(n-1), capped at BackoffMax, with ±20% jitter
// so that a burst of failures does not retry in lockstep.
func (c *Consumer) backoff(delivered int) time.Duration {
	d := c.cfg.BackoffBase
	for i := 1; i < delivered && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return d + jitter
}

func logIf(log *zap.Logger, err error, what string) {
	if err != nil {
		log.Warn(what, zap.Error(err))
	}
}
