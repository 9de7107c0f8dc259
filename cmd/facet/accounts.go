package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile/lifecycle"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

func (c *cli) accountsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Maintain accounts: purge the deleted ones"}
	purge := &cobra.Command{
		Use:   "purge",
		Short: "Erase the accounts whose recovery window (deletion_grace) is over, printing each",
		Long: "Erase the accounts deleted by their owners whose recovery window (deletion_grace) is over: " +
			"their personal data goes for good and their email, phone number, username and upstream identifiers become free; " +
			"their id stays as a tombstone. Each account is one transaction: a run that stops midway can be run again. " +
			"The cleanup job of `serve` does the same on one node.",
		Args: cobra.NoArgs,
		RunE: c.accountsPurge,
	}
	purge.Flags().Bool("dry-run", false, "list the accounts due without erasing anything")
	cmd.AddCommand(purge)
	return cmd
}

func (c *cli) accountsPurge(cmd *cobra.Command, _ []string) error {
	dry, err := cmd.Flags().GetBool("dry-run")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		p := &lifecycle.Purger{Store: store, Logger: logger, Now: cfg.Now}
		if dry {
			due, err := p.Due(ctx)
			if err != nil {
				return err
			}
			for _, d := range due {
				fmt.Fprintf(c.stdout, "due %s (deleted %s, window ended %s)\n", d.UserID, d.RequestedAt.Format(time.RFC3339), d.PurgeAfter.Format(time.RFC3339))
			}
			fmt.Fprintf(c.stdout, "%d account(s) due; nothing erased (dry run)\n", len(due))
			return nil
		}
		p.Progress = func(d storage.Deletion, err error) {
			if err != nil {
				fmt.Fprintf(c.stdout, "failed %s: %v\n", d.UserID, err)
				return
			}
			fmt.Fprintf(c.stdout, "purged %s\n", d.UserID)
		}
		n, err := p.RunOnce(ctx)
		fmt.Fprintf(c.stdout, "%d account(s) purged\n", n)
		if err != nil {
			return fmt.Errorf("purge stopped (run it again to go on): %w", err)
		}
		return nil
	})
}
