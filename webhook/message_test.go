package webhook_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/webhook"
)

// TestKey: the identity a replay reads from a message's subject and id
// is the one Message put there, for an account's URL and a connection's,
// whatever the webhook id holds; anything else is no webhook.
func TestKey(t *testing.T) {
	t.Parallel()
	for _, ev := range []*tenantry.WebhookEvent{
		{ID: "whk_1", PartnerID: "ptn_1", AccountID: "sub_1", WebhookID: "msg_1"},
		{ID: "whk_2", PartnerID: "ptn_1", AccountID: "sub_1", ConnectionID: "srv_1", WebhookID: "a/b.c/"},
	} {
		m := webhook.Message(ev)
		account, conn, id, ok := webhook.Key(m.Subject, m.ID)
		require.True(t, ok)
		require.Equal(t, []string{ev.AccountID, ev.ConnectionID, ev.WebhookID}, []string{account, conn, id})
	}
	for _, tc := range [][2]string{
		{"hook.sub_1.account", ""},
		{"hook.sub_1.account", "hook.sub_1.account/"},
		{"hook.sub_1.account", "hook.sub_2.account/msg_1"},
		{"hook.sub_1", "hook.sub_1/msg_1"},
		{"hook..account", "hook..account/msg_1"},
		{"cmd.sub_1.account", "cmd.sub_1.account/msg_1"},
		{"hook.sub_1.account.x", "hook.sub_1.account.x/msg_1"},
	} {
		_, _, _, ok := webhook.Key(tc[0], tc[1])
		require.False(t, ok, "%q %q", tc[0], tc[1])
	}
}
