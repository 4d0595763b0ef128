package secret

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := NewMasterKey(), strings.Replace(NewMasterKey(), "k1:", "k2:", 1)
	old, err := ParseMasterKeys(k1)
	require.NoError(t, err)
	sealed, err := old.Seal([]byte("hunter2"), []byte("row-1"))
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "hunter2")

	t.Run("OK", func(t *testing.T) {
		got, err := old.Open(sealed, []byte("row-1"))
		require.NoError(t, err)
		require.Equal(t, "hunter2", string(got))
	})
	t.Run("ErrOtherRow", func(t *testing.T) {
		_, err := old.Open(sealed, []byte("row-2"))
		require.Error(t, err)
	})
	t.Run("ErrTampered", func(t *testing.T) {
		bad := append([]byte(nil), sealed...)
		bad[len(bad)-1] ^= 1
		_, err := old.Open(bad, []byte("row-1"))
		require.Error(t, err)
	})
	t.Run("Rotation", func(t *testing.T) {
		rotated, err := ParseMasterKeys(k2 + "," + k1)
		require.NoError(t, err)
		got, err := rotated.Open(sealed, []byte("row-1"))
		require.NoError(t, err)
		require.Equal(t, "hunter2", string(got))
		resealed, err := rotated.Seal(got, []byte("row-1"))
		require.NoError(t, err)
		_, err = old.Open(resealed, []byte("row-1"))
		require.ErrorContains(t, err, `master key "k2" is not configured`)
	})
}

func TestParseMasterKeysRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "short", "k1:AAAA", ":" + NewMasterKey()[3:]} {
		_, err := ParseMasterKeys(in)
		require.Error(t, err, in)
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := ParseMasterKeys(NewMasterKey())
	sealed, _ := s.Seal([]byte("x"), nil)
	f.Add(sealed)
	f.Add([]byte{1, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = s.Open(b, nil) // must not panic
	})
}
