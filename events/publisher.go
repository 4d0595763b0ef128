package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantry/tenantry"
)

// Publisher publishes tenantry messages to JetStream and waits for the
// stream's acknowledgement. It is safe for concurrent use.
type Publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
}

// NewPublisher returns a publisher whose publishes give up after timeout
// (default 2s) when ctx has no earlier deadline (NATS may be reconnecting).
func NewPublisher(js jetstream.JetStream, timeout time.Duration) *Publisher {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Publisher{js: js, timeout: timeout}
}

// Publish sends m with Nats-Msg-Id = m.ID, so a second publish of the same
// message within the stream's duplicate window is dropped. It returns the
// JetStream error, wrapped, when the stream does not acknowledge in time,
// and EINVALID for a message that can never be published (too large).
func (p *Publisher) Publish(ctx context.Context, m tenantry.Message) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
	for k, v := range m.Header {
		if v != "" {
			msg.Header.Set(k, v)
		}
	}
	_, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID))
	if errors.Is(err, nats.ErrMaxPayload) {
		return tenantry.Errorf(tenantry.EINVALID, "message %s is larger than NATS accepts", m.ID)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", m.Subject, err)
	}
	return nil
}
