package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { os.Exit(tenantrytest.Main(m)) }

func records(from, to int, version string) []store.SyncedRecord {
	var out []store.SyncedRecord
	for i := from; i < to; i++ {
		out = append(out, store.SyncedRecord{Key: fmt.Sprint(i), Data: []byte(fmt.Sprintf(`{"id":%d,"v":%q}`, i, version))})
	}
	return out
}

// TestWriteRecords: a page is written once whatever happens to it —
// re-written unchanged, partly changed, extended, duplicated within the
// page — and a full refresh marks what it no longer saw as deleted.
func TestWriteRecords(t *testing.T) {
	ctx := context.Background()
	st := tenantrytest.Store(t)
	_, err := st.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS t_records_test CASCADE; CREATE SCHEMA t_records_test`)
	require.NoError(t, err)
	table, err := store.StreamTable("srv_0123456789abcdef0123456789abcdef", "contacts")
	require.NoError(t, err)
	require.Equal(t, "contacts_456789abcdef", table)

	count := func(where string) (n int) {
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM t_records_test.`+table+` WHERE `+where).Scan(&n))
		return n
	}
	ins, chg, err := st.WriteRecords(ctx, "t_records_test", table, "run1", records(0, 1000, "a"))
	require.NoError(t, err)
	require.Equal(t, [2]int{1000, 0}, [2]int{ins, chg}, "first write: all new")

	ins, chg, err = st.WriteRecords(ctx, "t_records_test", table, "run2", records(0, 1000, "a"))
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{ins, chg}, "the same page again: nothing new, nothing changed")

	page := append(records(0, 10, "b"), records(1000, 1005, "a")...)
	page = append(page, store.SyncedRecord{Key: "0", Data: []byte(`{"id":0,"v":"last wins"}`)})
	ins, chg, err = st.WriteRecords(ctx, "t_records_test", table, "run3", page)
	require.NoError(t, err)
	require.Equal(t, [2]int{5, 10}, [2]int{ins, chg})
	require.Equal(t, 1005, count("true"))
	require.Equal(t, 1, count(`key = '0' AND data->>'v' = 'last wins'`))

	gone, err := st.MarkDeleted(ctx, "t_records_test", table, "run3")
	require.NoError(t, err)
	require.EqualValues(t, 990, gone, "a full refresh that saw only run3's records")
	require.Equal(t, 990, count("deleted_at IS NOT NULL"))

	ins, chg, err = st.WriteRecords(ctx, "t_records_test", table, "run4", records(20, 21, "a"))
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 1}, [2]int{ins, chg}, "a deleted record that comes back has changed")
	require.Equal(t, 0, count(`key = '20' AND deleted_at IS NOT NULL`))

	_, err = store.StreamTable("srv_0123456789abcdef0123456789abcdef", "Bad-Name")
	require.Error(t, err)
}

// TestWriteRecordsNewTableConcurrently: writers racing to create the same
// new table (two webhooks whose handler upserts into it) all succeed.
func TestWriteRecordsNewTableConcurrently(t *testing.T) {
	ctx := context.Background()
	st := tenantrytest.Store(t)
	_, err := st.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS t_records_race CASCADE; CREATE SCHEMA t_records_race`)
	require.NoError(t, err)
	for round := range 5 {
		table := fmt.Sprintf("race_%d", round)
		errs := make(chan error, 8)
		for w := range 8 {
			go func() {
				_, _, err := st.WriteRecords(ctx, "t_records_race", table, "run", records(w*10, w*10+10, "v"))
				errs <- err
			}()
		}
		for range 8 {
			require.NoError(t, <-errs)
		}
		var n int
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM t_records_race.`+table).Scan(&n))
		require.Equal(t, 80, n)
	}
}
