package tenantry

import "time"

// QueryTable is a named read-only SQL query over a tenant's warehouse.
type QueryTable struct {
	ID        string    `json:"id"`
	PartnerID string    `json:"-"`
	AccountID string    `json:"-"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Rows is the result of running tenant SQL.
type Rows struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"` // there were more rows than the limit
}
