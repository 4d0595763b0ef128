package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
	"github.com/tenantry/tenantry/cmd/internal/env"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
)

func partner(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	st, err := store.Open(ctx, env.Get("DATABASE_URL", env.DefaultDatabaseURL))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		return partnerCreate(ctx, st, args[1:])
	case "token":
		return partnerToken(ctx, st, args[1:])
	case "revoke-token":
		return partnerRevoke(ctx, st, args[1:])
	}
	return errUsage
}

func partnerCreate(ctx context.Context, st *store.Store, args []string) error {
	fs := flag.NewFlagSet("partner create", flag.ContinueOnError)
	name := fs.String("name", "", "partner name (required)")
	asJSON := fs.Bool("json", false, `print {"id": …, "token": …}`)
	var origins []string
	fs.Func("cors-origin", "an origin allowed to call the API from a browser (repeatable)", func(v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("want an origin such as https://app.example.com, got %q", v)
		}
		origins = append(origins, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("partner create: --name is required")
	}
	p, token, err := createPartner(ctx, st, *name, origins)
	if err != nil {
		return err
	}
	return printToken(os.Stdout, *asJSON, p.ID, token)
}

// createPartner creates a partner and its first non-expiring token.
func createPartner(ctx context.Context, st *store.Store, name string, origins []string) (*tenantry.Partner, string, error) {
	issuer, err := newIssuer(ctx, st)
	if err != nil {
		return nil, "", err
	}
	p := &tenantry.Partner{Name: name, CORSOrigins: origins}
	if err := st.CreatePartner(ctx, p); err != nil {
		return nil, "", err
	}
	token, _, err := issuer.Issue(ctx, tenantry.Caller{Kind: tenantry.KindPartnerToken, PartnerID: p.ID}, 0)
	return p, token, err
}

func partnerToken(ctx context.Context, st *store.Store, args []string) error {
	fs := flag.NewFlagSet("partner token", flag.ContinueOnError)
	id := fs.String("id", "", "partner id (required)")
	asJSON := fs.Bool("json", false, `print {"id": …, "token": …}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := st.Partner(ctx, *id); err != nil {
		return err
	}
	issuer, err := newIssuer(ctx, st)
	if err != nil {
		return err
	}
	token, _, err := issuer.Issue(ctx, tenantry.Caller{Kind: tenantry.KindPartnerToken, PartnerID: *id}, 0)
	if err != nil {
		return err
	}
	return printToken(os.Stdout, *asJSON, *id, token)
}

func partnerRevoke(ctx context.Context, st *store.Store, args []string) error {
	fs := flag.NewFlagSet("partner revoke-token", flag.ContinueOnError)
	token := fs.String("token", "", "the non-expiring token (partner or account) to revoke")
	id := fs.String("id", "", "revoke every token of this partner")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *token != "" && *id == "":
		issuer, err := newIssuer(ctx, st)
		if err != nil {
			return err
		}
		c, stored, err := issuer.Verify(ctx, *token)
		if err != nil {
			return err
		}
		if !stored {
			return errors.New("revoke-token: an expiring token cannot be revoked; it lapses within the hour")
		}
		if err := st.RevokeToken(ctx, c.TokenID); err != nil {
			return err
		}
		fmt.Printf("revoked %s token %s of partner %s\n", c.Kind, c.TokenID, c.PartnerID)
	case *id != "" && *token == "":
		n, err := st.RevokePartnerTokens(ctx, *id)
		if err != nil {
			return err
		}
		fmt.Printf("revoked %d token(s) of partner %s\n", n, *id)
	default:
		return errors.New("revoke-token: give exactly one of --token or --id")
	}
	return nil
}

func newIssuer(ctx context.Context, st *store.Store) (*auth.Issuer, error) {
	key := env.MasterKey()
	if key == "" {
		return nil, errors.New("TENANTRY_MASTER_KEY is not set (and no ./.tenantry/master.key); see `tenantry masterkey`")
	}
	sealer, err := secret.ParseMasterKeys(key)
	if err != nil {
		return nil, fmt.Errorf("TENANTRY_MASTER_KEY: %w", err)
	}
	return auth.NewIssuer(ctx, auth.Config{Issuer: os.Getenv("TENANTRY_ISSUER")}, st, sealer, nil)
}

func printToken(w io.Writer, asJSON bool, id, token string) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]string{"id": id, "token": token})
	}
	_, err := fmt.Fprintf(w, "partner id: %s\ntoken:      %s\n", id, token)
	return err
}

func newMasterKey() string { return secret.NewMasterKey() }

func migrate(ctx context.Context) error {
	st, err := store.Open(ctx, env.Get("DATABASE_URL", env.DefaultDatabaseURL))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Println("migrations applied")
	return nil
}
