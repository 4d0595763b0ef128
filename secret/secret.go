// Package secret seals values at rest with AES-256-GCM envelope
// encryption: every Seal draws a fresh data key, encrypts the value with
// it, and wraps the data key under the current master key. The sealed
// blob names its master key id, so master keys can rotate: new seals use
// the current key, and every key still configured can open old ones.
// The caller's AAD (the row's identity) binds a blob to its row.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const version = 1

// Sealer seals and opens values. It is safe for concurrent use.
type Sealer struct {
	keys    map[string][]byte
	current string
}

// ParseMasterKeys parses TENANTRY_MASTER_KEY: "id:base64key[,id:base64key…]",
// the first being current, or a bare base64 key (id "k1"). Keys are 32
// bytes.
func ParseMasterKeys(s string) (*Sealer, error) {
	sl := &Sealer{keys: map[string][]byte{}}
	for i, part := range strings.Split(strings.TrimSpace(s), ",") {
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			id, b64 = "k1", part
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("master key %q: want 32 bytes, base64-encoded", id)
		}
		if id == "" || len(id) > 255 {
			return nil, fmt.Errorf("master key id %q: want 1 to 255 characters", id)
		}
		if i == 0 {
			sl.current = id
		}
		sl.keys[id] = key
	}
	return sl, nil
}

// NewMasterKey returns a fresh random master key in ParseMasterKeys form.
func NewMasterKey() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return "k1:" + base64.StdEncoding.EncodeToString(key)
}

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	dataKey := make([]byte, 32)
	_, _ = rand.Read(dataKey)
	wrapped, err := encrypt(s.keys[s.current], dataKey, []byte(s.current))
	if err != nil {
		return nil, err
	}
	body, err := encrypt(dataKey, plaintext, aad)
	if err != nil {
		return nil, err
	}
	out := []byte{version, byte(len(s.current))}
	out = append(out, s.current...)
	out = append(out, wrapped...)
	return append(out, body...), nil
}

// Open decrypts a sealed blob; it fails if the blob was altered, was
// sealed with other aad, or names a master key no longer configured.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != version {
		return nil, errors.New("open: not a sealed value")
	}
	idEnd := 2 + int(sealed[1]) // int: byte arithmetic would wrap at 255
	if len(sealed) < idEnd {
		return nil, errors.New("open: truncated value")
	}
	id := string(sealed[2:idEnd])
	master, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("open: master key %q is not configured", id)
	}
	rest := sealed[2+len(id):]
	wrappedLen := 12 + 32 + 16
	if len(rest) < wrappedLen {
		return nil, errors.New("open: truncated value")
	}
	dataKey, err := decrypt(master, rest[:wrappedLen], []byte(id))
	if err != nil {
		return nil, err
	}
	return decrypt(dataKey, rest[wrappedLen:], aad)
}

func encrypt(key, plaintext, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	return gcm.Seal(nonce, nonce, plaintext, aad), nil
}

func decrypt(key, sealed, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("open: truncated value")
	}
	out, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("open: authentication failed")
	}
	return out, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}
