package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/tenantrytest"
)

// singleUse returns a single-use token for subaccount id.
func singleUse(t *testing.T, sys *tenantrytest.System, partner, id string) string {
	t.Helper()
	r := sys.Do("GET", "/api/subaccount/"+id+"/token?single_use=true", partner, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	exp, err := time.Parse(time.RFC3339, r.JSON["expires_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(5*time.Minute), exp, 5*time.Second, "single-use tokens are short-lived")
	return r.JSON["token"].(string)
}

// invite invites email with a fresh single-use token and returns the
// accept link's token.
func invite(t *testing.T, sys *tenantrytest.System, partner, id, email string) (invitationID, link string) {
	t.Helper()
	r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", singleUse(t, sys, partner, id),
		map[string]any{"email": email, "role": "member"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	u, err := url.Parse(r.JSON["accept_url"].(string))
	require.NoError(t, err)
	return r.JSON["id"].(string), u.Query().Get("token")
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	sys, partner := setup(t)
	id := create(t, sys, partner, "invite")
	other := create(t, sys, partner, "invite-other")

	once := singleUse(t, sys, partner, id)
	body := map[string]any{"email": "ada@example.com", "role": "admin"}
	r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", once, body)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	require.Equal(t, "ada@example.com", r.JSON["email"])
	require.Equal(t, "admin", r.JSON["role"])
	require.Equal(t, "pending", r.JSON["status"])
	require.True(t, strings.HasPrefix(r.JSON["accept_url"].(string), sys.URL+"/invitations/accept?token="), r.JSON["accept_url"])

	t.Run("SameTokenTwice", func(t *testing.T) {
		r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", once, map[string]any{"email": "bob@example.com", "role": "member"})
		require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Body))
		require.Contains(t, r.JSON["detail"], "already been used")
	})
	t.Run("RefusedRequestKeepsTheToken", func(t *testing.T) {
		tok := singleUse(t, sys, partner, id)
		r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", tok, map[string]any{"email": "nope", "role": "god"})
		require.Equal(t, http.StatusBadRequest, r.Status)
		fields := []string{}
		for _, e := range r.JSON["errors"].([]any) {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		require.Equal(t, []string{"email", "role"}, fields)
		require.Equal(t, http.StatusNotFound, sys.Do("POST", "/api/subaccount/"+other+"/invitations", tok, body).Status,
			"a token for another account")
		require.Equal(t, http.StatusCreated, sys.Do("POST", "/api/subaccount/"+id+"/invitations", tok,
			map[string]any{"email": "carol@example.com", "role": "member"}).Status)
	})
	t.Run("OnlySingleUseTokens", func(t *testing.T) {
		acct := sys.Do("GET", "/api/subaccount/"+id+"/token", partner, nil).JSON["token"].(string)
		_, key := newKey(t, sys, partner, "inviter", "admin")
		exchanged := sys.Do("POST", "/api/auth/token", key, nil).JSON["token"].(string)
		for name, credential := range map[string]string{"Account": acct, "Partner": partner, "Key": key, "Exchanged": exchanged} {
			r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", credential, body)
			require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", name, r.Body)
		}
	})
	t.Run("SingleUseOnlyThere", func(t *testing.T) {
		tok := singleUse(t, sys, partner, id)
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/subaccount/" + id}, {"GET", "/api/subaccount"}, {"POST", "/api/auth/token"},
			{"GET", "/api/keys"}, {"GET", "/api/subaccount/" + id + "/users"}, {"POST", "/api/table"},
		} {
			r := sys.Do(req.method, req.path, tok, nil)
			require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", req.method, req.path, r.Body)
		}
		require.Equal(t, http.StatusCreated, sys.Do("POST", "/api/subaccount/"+id+"/invitations", tok,
			map[string]any{"email": "dan@example.com", "role": "member"}).Status, "and still unused")
	})
	t.Run("Expired", func(t *testing.T) {
		past, err := auth.NewIssuer(context.Background(), auth.Config{}, sys.Node.Store, masterSealer(t),
			func() time.Time { return time.Now().Add(-10 * time.Minute) })
		require.NoError(t, err)
		c := tenantry.Caller{Kind: tenantry.KindSingleUseToken, PartnerID: sys.PartnerOf(id), AccountID: id}
		tok, _, err := past.Issue(context.Background(), c, 5*time.Minute)
		require.NoError(t, err)
		r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", tok, body)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Contains(t, r.JSON["detail"], "expired")
	})
	t.Run("NeverNonExpiring", func(t *testing.T) {
		r := sys.Do("GET", "/api/subaccount/"+id+"/token?single_use=true&expire=false", partner, nil)
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, http.StatusBadRequest, sys.Do("GET", "/api/subaccount/"+id+"/token?single_use=maybe", partner, nil).Status)
	})
}

// postJSON posts body and returns the status, -1 if there was none; safe
// to call from any goroutine.
func postJSON(u, token string, body any) int {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSingleUseRace sends one single-use token in 100 concurrent
// requests: exactly one invites, the other 99 are refused.
func TestSingleUseRace(t *testing.T) {
	t.Parallel()
	sys, partner := setup(t)
	id := create(t, sys, partner, "race")
	tok := singleUse(t, sys, partner, id)

	const n = 100
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = postJSON(sys.URL+"/api/subaccount/"+id+"/invitations", tok,
				map[string]any{"email": "race@example.com", "role": "member"})
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	require.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusUnauthorized: n - 1}, count)
	var invitations int
	err := sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM core.invitations WHERE account_id = $1`, id).
		Scan(&invitations)
	require.NoError(t, err)
	require.Equal(t, 1, invitations)
}

func TestAcceptInvitation(t *testing.T) {
	t.Parallel()
	sys, partner := setup(t)
	id := create(t, sys, partner, "accept")
	accept := func(link, password string) tenantrytest.Response {
		return sys.Do("POST", "/api/invitations/accept", "", map[string]any{"token": link, "password": password})
	}

	_, link := invite(t, sys, partner, id, "ada@example.com")
	r := accept(link, "short")
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, "password", r.JSON["errors"].([]any)[0].(map[string]any)["field"])
	r = accept(link, "a long enough passphrase")
	require.Equal(t, http.StatusCreated, r.Status, "a refused password does not use the link up: %s", r.Body)
	require.Equal(t, "ada@example.com", r.JSON["email"])
	require.Equal(t, "member", r.JSON["role"])
	require.NotContains(t, string(r.Body), "argon2")

	t.Run("LinkSingleUse", func(t *testing.T) {
		r := accept(link, "another long passphrase")
		require.Equal(t, http.StatusConflict, r.Status)
		require.Contains(t, r.JSON["detail"], "already been used")
	})
	t.Run("UserListed", func(t *testing.T) {
		acct := sys.Do("GET", "/api/subaccount/"+id+"/token", partner, nil).JSON["token"].(string)
		for _, credential := range []string{partner, acct} {
			r := sys.Do("GET", "/api/subaccount/"+id+"/users", credential, nil)
			require.Equal(t, http.StatusOK, r.Status)
			users := r.JSON["items"].([]any)
			require.Len(t, users, 1)
			require.Equal(t, "ada@example.com", users[0].(map[string]any)["email"])
			require.NotContains(t, string(r.Body), "password")
		}
		var hash string
		err := sys.Node.Store.Pool().QueryRow(context.Background(), `SELECT password_hash FROM core.users WHERE account_id = $1`, id).Scan(&hash)
		require.NoError(t, err)
		require.True(t, auth.CheckPassword(hash, "a long enough passphrase"), "argon2id: %s", hash[:12])
		_, otherPartner := sys.Partner()
		require.Equal(t, http.StatusNotFound, sys.Do("GET", "/api/subaccount/"+id+"/users", otherPartner, nil).Status)
	})
	t.Run("AlreadyAUser", func(t *testing.T) {
		tok := singleUse(t, sys, partner, id)
		r := sys.Do("POST", "/api/subaccount/"+id+"/invitations", tok, map[string]any{"email": "ADA@example.com", "role": "admin"})
		require.Equal(t, http.StatusConflict, r.Status, string(r.Body))
	})
	t.Run("Expired", func(t *testing.T) {
		inv, link := invite(t, sys, partner, id, "late@example.com")
		_, err := sys.Node.Store.Pool().Exec(context.Background(),
			`UPDATE core.invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, inv)
		require.NoError(t, err)
		r := accept(link, "a long enough passphrase")
		require.Equal(t, http.StatusConflict, r.Status)
		require.Contains(t, r.JSON["detail"], "expired")
	})
	t.Run("Unknown", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, accept("not-a-link", "a long enough passphrase").Status)
	})
	t.Run("ConcurrentAccepts", func(t *testing.T) {
		_, link := invite(t, sys, partner, id, "twice@example.com")
		statuses := make(chan int, 10)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				statuses <- postJSON(sys.URL+"/api/invitations/accept", "", map[string]any{"token": link, "password": "a long enough passphrase"})
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		require.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: 9}, count)
	})
	t.Run("Page", func(t *testing.T) {
		_, link := invite(t, sys, partner, id, "page@example.com")
		r := sys.Do("GET", "/invitations/accept?token="+url.QueryEscape(link), "", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
		require.Contains(t, string(r.Body), `<form method="post" action="/invitations/accept">`)
		require.Contains(t, string(r.Body), `value="`+link+`"`)

		submit := func(password string) (int, string) {
			resp, err := http.PostForm(sys.URL+"/invitations/accept", url.Values{"token": {link}, "password": {password}})
			require.NoError(t, err)
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String()
		}
		status, page := submit("short")
		require.Equal(t, http.StatusBadRequest, status)
		require.Contains(t, page, "<form", "the form again, to fix the password")
		status, page = submit("a long enough passphrase")
		require.Equal(t, http.StatusCreated, status)
		require.Contains(t, page, "page@example.com can now sign in")
		status, page = submit("a long enough passphrase")
		require.Equal(t, http.StatusConflict, status)
		require.Contains(t, page, "already been used")
		require.NotContains(t, page, "<form")
	})
}
