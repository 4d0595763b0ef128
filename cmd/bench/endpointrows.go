package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tenantry/tenantry/store"
)

// endpointRows is how many rows the realistic handler reads.
const endpointRows = 100

// seedRows writes endpointRows rows into the table bench_items of the
// account's warehouse, as a sync or a script's upsert writes them, and
// returns their keys in order.
func seedRows(ctx context.Context, st *store.Store, account string) ([]string, error) {
	schema, err := st.AccountSchema(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("the endpoints' warehouse: %w", err)
	}
	keys := make([]string, endpointRows)
	recs := make([]store.SyncedRecord, endpointRows)
	for i := range recs {
		keys[i] = fmt.Sprintf("item_%03d", i)
		data, err := json.Marshal(map[string]any{"n": i, "sku": fmt.Sprintf("SKU-%05d", i*7919%100_000),
			"name": fmt.Sprintf("Widget %d", i), "warehouse": "AMS-1", "stock": i * 37 % 500,
			"price_cents": 100 + i*7, "tags": []string{"bench", "row"}})
		if err != nil {
			return nil, err
		}
		recs[i] = store.SyncedRecord{Key: keys[i], Data: data}
	}
	inserted, _, err := st.WriteRecords(ctx, schema, "bench_items", "bench_seed", recs)
	if err != nil {
		return nil, fmt.Errorf("seed the endpoints' rows: %w", err)
	}
	if inserted != endpointRows {
		return nil, fmt.Errorf("seed the endpoints' rows: %d new of %d", inserted, endpointRows)
	}
	return keys, nil
}

// checkOK checks a trivial answer: {"ok": true}.
func checkOK(_ int64, body []byte) error {
	var out struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal(body, &out); err != nil || !out.OK {
		return fmt.Errorf(`want {"ok": true}, got %.300s`, body)
	}
	return nil
}

// checkRows checks a realistic answer to request id: the id echoed, and
// every seeded row in key order.
func (e *endpointBench) checkRows(id int64, body []byte) error {
	var out struct {
		ID    int64 `json:"id"`
		Count int   `json:"count"`
		Rows  []struct {
			Key  string `json:"key"`
			Data struct {
				N int `json:"n"`
			} `json:"data"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("%w in %.300s", err, body)
	}
	if out.ID != id || out.Count != len(e.keys) || len(out.Rows) != len(e.keys) {
		return fmt.Errorf("answer for request %d, %d rows (count %d); want request %d, %d rows", out.ID, len(out.Rows), out.Count, id, len(e.keys))
	}
	for i, r := range out.Rows {
		if r.Key != e.keys[i] || r.Data.N != i {
			return fmt.Errorf("row %d is %s (n %d); want %s (n %d)", i, r.Key, r.Data.N, e.keys[i], i)
		}
	}
	return nil
}
