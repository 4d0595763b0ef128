package store

import (
	"encoding/hex"

	"github.com/google/uuid"
)

// NewID returns an opaque, time-ordered id with a type prefix, such as
// "sub_0193…". Time order makes ids usable as keyset cursors.
func NewID(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + "_" + hex.EncodeToString(u[:])
}
