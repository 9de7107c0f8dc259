package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/templates"
)

func (c *cli) usersCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Create and list user accounts"}

	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account (the same rules as the registration page)",
		Args:  cobra.NoArgs,
		RunE:  c.usersCreate,
	}
	create.Flags().String("email", "", "email address (required)")
	create.Flags().String("password", "", "password (required; at least 8 characters)")
	create.Flags().String("name", "", "full name (optional)")
	create.Flags().Bool("admin", false, "make the account an administrator")
	create.Flags().Bool("json", false, "print JSON")

	list := &cobra.Command{Use: "list", Short: "List accounts", Args: cobra.NoArgs, RunE: c.usersList}
	list.Flags().Bool("json", false, "print JSON")

	cmd.AddCommand(create, list)
	return cmd
}

// userJSON is the --json shape of an account; never the password hash.
type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Admin         bool      `json:"admin"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
}

func toUserJSON(u storage.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Admin: u.Admin, Status: u.Status, CreatedAt: u.CreatedAt}
}

func (c *cli) usersCreate(cmd *cobra.Command, _ []string) error {
	fs := cmd.Flags()
	email, err := fs.GetString("email")
	if err != nil {
		return err
	}
	password, err := fs.GetString("password")
	if err != nil {
		return err
	}
	name, err := fs.GetString("name")
	if err != nil {
		return err
	}
	admin, err := fs.GetBool("admin")
	if err != nil {
		return err
	}
	asJSON, err := fs.GetBool("json")
	if err != nil {
		return err
	}
	if email == "" || password == "" {
		return errors.New("users create needs --email and --password")
	}
	return c.withStore(cmd, func(ctx context.Context, cfg Config, logger *slog.Logger, store *sqlstore.Store) error {
		accounts, err := c.accounts(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		u, err := accounts.Register(ctx, email, password, name, admin)
		var fieldErr *profile.FieldError
		switch {
		case errors.Is(err, profile.ErrEmailTaken):
			return fmt.Errorf("an account with email %s exists already", email)
		case errors.As(err, &fieldErr):
			return fmt.Errorf("%s: %s", fieldErr.Field, fieldErr.Msg)
		case err != nil:
			return fmt.Errorf("create user: %w", err)
		}
		if asJSON {
			return writeJSONTo(c.stdout, toUserJSON(u))
		}
		fmt.Fprintf(c.stdout, "created user %s (%s)\n", u.ID, u.Email)
		return nil
	})
}

// accounts builds the profile handler, whose Register applies the same rules as the
// registration page (email form, password policy, name split into profile fields).
func (c *cli) accounts(ctx context.Context, cfg Config, store storage.Storage, logger *slog.Logger) (*profile.Handler, error) {
	secret, err := resolveSecret(ctx, cfg, store, logger)
	if err != nil {
		return nil, err
	}
	tmpl, err := templates.New()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	h, err := profile.New(profile.Config{
		Issuer:          cfg.Issuer,
		Secret:          secret,
		SessionIdle:     cfg.SessionIdle,
		SessionAbsolute: cfg.SessionAbsolute,
		SecureCookies:   cfg.secureCookies(),
	}, store, tmpl, logger)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return h, nil
}

func (c *cli) usersList(cmd *cobra.Command, _ []string) error {
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg Config, logger *slog.Logger, store *sqlstore.Store) error {
		users, err := store.ListUsers(ctx)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		if asJSON {
			out := make([]userJSON, 0, len(users))
			for _, u := range users {
				out = append(out, toUserJSON(u))
			}
			return writeJSONTo(c.stdout, out)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tADMIN\tSTATUS\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", u.ID, u.Email, u.Admin, u.Status, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	})
}
