package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/profile/invite"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

// accessCommands are `clients grant-access` and `clients revoke-access`.
func (c *cli) accessCommands() []*cobra.Command {
	grant := &cobra.Command{Use: "grant-access ID --email E", Short: "Let the account holding email E (verified) use closed app ID",
		Args: cobra.ExactArgs(1), RunE: c.clientsGrantAccess}
	grant.Flags().String("email", "", "the account's verified email address")
	revoke := &cobra.Command{Use: "revoke-access ID --email E", Short: "Remove access to app ID: the account's tokens for it are revoked and the app told (back-channel logout)",
		Args: cobra.ExactArgs(1), RunE: c.clientsRevokeAccess}
	revoke.Flags().String("email", "", "the account's verified email address")
	for _, cmd := range []*cobra.Command{grant, revoke} {
		_ = cmd.MarkFlagRequired("email")
	}
	return []*cobra.Command{grant, revoke}
}

// inviteCommands are `invite` and `invitations list|revoke`.
func (c *cli) inviteCommands() []*cobra.Command {
	inv := &cobra.Command{Use: "invite --client ID --email E", Short: "Invite an email address to a closed app; emails the link and prints it",
		Args: cobra.NoArgs, RunE: c.invite}
	inv.Flags().String("client", "", "the app's client id")
	inv.Flags().String("email", "", "the invited email address")
	inv.Flags().Duration("expires", 168*time.Hour, "how long the link works")
	inv.Flags().Bool("json", false, `print {"id", "url", "expires_at"}`)
	_ = inv.MarkFlagRequired("client")
	_ = inv.MarkFlagRequired("email")

	cmd := &cobra.Command{Use: "invitations", Short: "List and revoke invitations to closed apps"}
	list := &cobra.Command{Use: "list", Short: "List invitations, newest first", Args: cobra.NoArgs, RunE: c.invitationsList}
	list.Flags().String("client", "", "only the invitations to this app")
	list.Flags().Bool("json", false, "print JSON")
	revoke := &cobra.Command{Use: "revoke ID", Short: "Withdraw a pending invitation", Args: cobra.ExactArgs(1), RunE: c.invitationsRevoke}
	cmd.AddCommand(list, revoke)
	return []*cobra.Command{inv, cmd}
}

// withInvites runs fn with the invitation service over the CLI's database.
func (c *cli) withInvites(cmd *cobra.Command, fn func(ctx context.Context, s *invite.Service) error) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		secret, err := resolveSecret(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		mail, err := cfg.Mailer(store, logger)
		if err != nil {
			return err
		}
		// The CLI's configuration has no clock; the notifier needs one.
		now := cfg.Now
		if now == nil {
			now = time.Now
		}
		s, err := invite.NewService(invite.Config{Issuer: cfg.Issuer, Secret: secret},
			invite.Deps{Store: store, Mail: mail, Logout: &backchannel.Notifier{Store: store, Now: now}, Logger: logger, Now: now})
		if err != nil {
			return err
		}
		return fn(ctx, s)
	})
}

func inviteErr(err error, client, email string) error {
	switch {
	case errors.Is(err, invite.ErrNoClient):
		return fmt.Errorf("no client with id %q", client)
	case errors.Is(err, invite.ErrNoAccount):
		return fmt.Errorf("no account holds %q verified", email)
	}
	return err
}

func (c *cli) clientsGrantAccess(cmd *cobra.Command, args []string) error {
	email, err := cmd.Flags().GetString("email")
	if err != nil {
		return err
	}
	return c.withInvites(cmd, func(ctx context.Context, s *invite.Service) error {
		u, err := s.GrantAccess(ctx, args[0], email)
		if err != nil {
			return inviteErr(err, args[0], email)
		}
		fmt.Fprintf(c.stdout, "granted %s access to %s\n", u.ID, args[0])
		return nil
	})
}

func (c *cli) clientsRevokeAccess(cmd *cobra.Command, args []string) error {
	email, err := cmd.Flags().GetString("email")
	if err != nil {
		return err
	}
	return c.withInvites(cmd, func(ctx context.Context, s *invite.Service) error {
		n, err := s.RevokeAccess(ctx, args[0], email, "cli")
		if err != nil {
			return inviteErr(err, args[0], email)
		}
		fmt.Fprintf(c.stdout, "removed access to %s; %d tokens revoked\n", args[0], n)
		return nil
	})
}

func (c *cli) invite(cmd *cobra.Command, _ []string) error {
	fs := cmd.Flags()
	client, err := fs.GetString("client")
	if err != nil {
		return err
	}
	email, err := fs.GetString("email")
	if err != nil {
		return err
	}
	ttl, err := fs.GetDuration("expires")
	if err != nil {
		return err
	}
	if ttl <= 0 {
		return errors.New("--expires must be positive")
	}
	asJSON, err := fs.GetBool("json")
	if err != nil {
		return err
	}
	return c.withInvites(cmd, func(ctx context.Context, s *invite.Service) error {
		sent, err := s.Invite(ctx, client, email, ttl)
		if sent.ID == "" {
			if errors.Is(err, invite.ErrBadEmail) {
				return fmt.Errorf("%q is not an email address", email)
			}
			return inviteErr(err, client, email)
		}
		if err != nil {
			// Stored, but the email did not go: the operator can pass the link on.
			fmt.Fprintf(c.stderr, "the invitation is stored but its email was not sent: %v\n", err)
		}
		if asJSON {
			return writeJSONTo(c.stdout, sent)
		}
		fmt.Fprintf(c.stdout, "invitation %s\nurl: %s\nexpires_at: %s\n", sent.ID, sent.URL, sent.ExpiresAt.Format(time.RFC3339))
		return nil
	})
}

// invitationJSON is the --json shape of an invitation (never its token or hash).
type invitationJSON struct {
	ID        string     `json:"id"`
	ClientID  string     `json:"client_id"`
	Email     string     `json:"email"`
	State     string     `json:"state"`
	InvitedAt time.Time  `json:"invited_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	Answered  *time.Time `json:"answered_at,omitempty"`
}

func (c *cli) invitationsList(cmd *cobra.Command, _ []string) error {
	client, err := cmd.Flags().GetString("client")
	if err != nil {
		return err
	}
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withInvites(cmd, func(ctx context.Context, s *invite.Service) error {
		list, err := s.List(ctx, client)
		if err != nil {
			return fmt.Errorf("list invitations: %w", err)
		}
		now := time.Now()
		state := func(inv storage.Invitation) string {
			if inv.State == storage.InvitationPending && !now.Before(inv.ExpiresAt) {
				return "expired"
			}
			return inv.State
		}
		if asJSON {
			out := make([]invitationJSON, 0, len(list))
			for _, inv := range list {
				out = append(out, invitationJSON{ID: inv.ID, ClientID: inv.ClientID, Email: inv.Email, State: state(inv),
					InvitedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, Answered: inv.AnsweredAt})
			}
			return writeJSONTo(c.stdout, out)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCLIENT ID\tEMAIL\tSTATE\tEXPIRES AT")
		for _, inv := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", inv.ID, inv.ClientID, inv.Email, state(inv), inv.ExpiresAt.Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

func (c *cli) invitationsRevoke(cmd *cobra.Command, args []string) error {
	return c.withInvites(cmd, func(ctx context.Context, s *invite.Service) error {
		switch err := s.Revoke(ctx, args[0]); {
		case errors.Is(err, invite.ErrNotFound):
			return fmt.Errorf("no invitation with id %q", args[0])
		case errors.Is(err, invite.ErrSpent):
			return fmt.Errorf("invitation %s was answered already", args[0])
		case err != nil:
			return err
		}
		fmt.Fprintf(c.stdout, "revoked invitation %s\n", args[0])
		return nil
	})
}
