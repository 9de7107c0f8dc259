package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth/keys"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

func (c *cli) keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Rotate and list the ID token signing keys"}

	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Create a new signing key; the previous one stays in JWKS until the tokens it signed expire",
		Args:  cobra.NoArgs,
		RunE:  c.keysRotate,
	}
	rotate.Flags().Duration("publish-retired-for", 0, "how long the retired key stays in JWKS (default: id_token_lifespan + 1h)")

	list := &cobra.Command{Use: "list", Short: "List signing keys", Args: cobra.NoArgs, RunE: c.keysList}
	list.Flags().Bool("json", false, "print JSON")

	cmd.AddCommand(rotate, list)
	return cmd
}

func (c *cli) keysRotate(cmd *cobra.Command, _ []string) error {
	publish, err := cmd.Flags().GetDuration("publish-retired-for")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		if publish <= 0 {
			// A retired key stays published (OIDC Core §10.1.1, signing key rotation) until the ID tokens it signed
			// expire, plus a margin for clocks and the nodes' key caches.
			publish = cfg.IDTokenLifespan + time.Hour
		}
		secret, err := resolveSecret(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		kid, err := keys.Rotate(ctx, store, secret, publish)
		if err != nil {
			return fmt.Errorf("rotate signing key: %w", err)
		}
		fmt.Fprintf(c.stdout, "new signing key %s; the previous key stays in JWKS for %s\n", kid, publish)
		return nil
	})
}

// keyJSON is the --json shape of a signing key: public facts only.
type keyJSON struct {
	ID           string     `json:"kid"`
	Algorithm    string     `json:"alg"`
	Active       bool       `json:"active"`
	CreatedAt    time.Time  `json:"created_at"`
	RetiredAt    *time.Time `json:"retired_at,omitempty"`
	PublishUntil *time.Time `json:"publish_until,omitempty"`
}

func (c *cli) keysList(cmd *cobra.Command, _ []string) error {
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		all, err := store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("list signing keys: %w", err)
		}
		if asJSON {
			out := make([]keyJSON, 0, len(all))
			for _, k := range all {
				out = append(out, keyJSON{ID: k.ID, Algorithm: k.Algorithm, Active: k.Active, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt, PublishUntil: k.PublishUntil})
			}
			return writeJSONTo(c.stdout, out)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tPUBLISHED UNTIL")
		for _, k := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, keyState(k), k.CreatedAt.UTC().Format(time.RFC3339), formatTime(k.PublishUntil))
		}
		return tw.Flush()
	})
}

func keyState(k storage.SigningKey) string {
	if k.Active {
		return "active"
	}
	return "retired"
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
