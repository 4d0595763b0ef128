package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/auth"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	h := auth.HashPassword("correct horse battery")
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	require.NotContains(t, h, "correct horse")
	require.True(t, auth.CheckPassword(h, "correct horse battery"))
	require.False(t, auth.CheckPassword(h, "correct horse batterY"))
	require.False(t, auth.CheckPassword(h, ""))
	require.NotEqual(t, h, auth.HashPassword("correct horse battery"), "salted")
	for _, bad := range []string{"", "$argon2id$", "$2a$10$abc", strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Replace(h, "m=19456", "m=99999999", 1), h[:len(h)-4] + "!!!!"} {
		require.False(t, auth.CheckPassword(bad, "correct horse battery"), bad)
	}
}
