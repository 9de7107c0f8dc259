package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

// featuresCommand is `facet features list|enable|disable NAME`: the experimental features,
// switched per installation in the database so every node agrees at its next request.
func (c *cli) featuresCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "features", Short: "List and switch the experimental features (" + strings.Join(config.KnownFeatures, ", ") + ")"}
	list := &cobra.Command{Use: "list", Short: "List the features, whether each is on and where that comes from", Args: cobra.NoArgs, RunE: c.featuresList}
	list.Flags().Bool("json", false, "print JSON")
	enable := &cobra.Command{Use: "enable NAME", Short: "Switch a feature on for every node", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.featuresSet(cmd, args[0], true) }}
	disable := &cobra.Command{Use: "disable NAME", Short: "Switch a feature off for every node", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.featuresSet(cmd, args[0], false) }}
	cmd.AddCommand(list, enable, disable)
	return cmd
}

// featureJSON is one line of `features list --json`. Source is "database" when a switch is
// stored, else "config" (the features key).
type featureJSON struct {
	Name      string     `json:"name"`
	Enabled   bool       `json:"enabled"`
	Source    string     `json:"source"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

func (c *cli) featuresList(cmd *cobra.Command, _ []string) error {
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, _ *slog.Logger, store *sqlstore.Store) error {
		stored, err := store.ListFeatures(ctx)
		if err != nil {
			return err
		}
		var out []featureJSON
		for _, name := range config.KnownFeatures {
			f := featureJSON{Name: name, Enabled: cfg.FeatureDefault(name), Source: "config"}
			if i := slices.IndexFunc(stored, func(s storage.Feature) bool { return s.Name == name }); i >= 0 {
				f.Enabled, f.Source, f.UpdatedAt = stored[i].Enabled, "database", &stored[i].UpdatedAt
			}
			out = append(out, f)
		}
		if asJSON {
			return writeJSONTo(c.stdout, out)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tSOURCE")
		for _, f := range out {
			state := "off"
			if f.Enabled {
				state = "on"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name, state, f.Source)
		}
		return tw.Flush()
	})
}

func (c *cli) featuresSet(cmd *cobra.Command, name string, on bool) error {
	if !slices.Contains(config.KnownFeatures, name) {
		return fmt.Errorf("unknown feature %q (known: %s)", name, strings.Join(config.KnownFeatures, ", "))
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		now := time.Now
		if cfg.Now != nil {
			now = cfg.Now
		}
		if err := store.SetFeature(ctx, name, on, now()); err != nil {
			if errors.Is(err, storage.ErrUnavailable) {
				return fmt.Errorf("the database is not available: %w", err)
			}
			return err
		}
		state := "off"
		if on {
			state = "on"
		}
		logger.Info("feature switched", "feature", name, "state", state)
		fmt.Fprintf(c.stdout, "%s is %s for every node\n", name, state)
		return nil
	})
}
