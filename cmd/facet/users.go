package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/activity"
	pw "github.com/facetid/facet/profile/password"
	"github.com/facetid/facet/profile/signin"
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
	create.Flags().String("password", "", "password (at least 8 characters; visible in the process list: prefer --password-stdin)")
	create.Flags().Bool("password-stdin", false, "read the password from the first line of standard input")
	create.Flags().String("name", "", "full name (optional)")
	create.Flags().Bool("admin", false, "make the account an administrator")
	create.Flags().Bool("json", false, "print JSON")

	list := &cobra.Command{Use: "list", Short: "List accounts", Args: cobra.NoArgs, RunE: c.usersList}
	list.Flags().Bool("json", false, "print JSON")

	reset := &cobra.Command{
		Use:   "reset-mfa EMAIL|ID",
		Short: "Remove every second factor of an account (lost phone and recovery codes) and end its sessions",
		Args:  cobra.ExactArgs(1),
		RunE:  c.usersResetMFA,
	}

	cmd.AddCommand(create, list, reset)
	return cmd
}

// usersResetMFA is the administrator's way back for someone who lost every second factor:
// the authenticator app, the passkeys and the recovery codes go, and every browser session
// ends, so the next sign-in is the password alone (and, under mfa: required, a new setup).
// The owner's activity log records it.
func (c *cli) usersResetMFA(cmd *cobra.Command, args []string) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		u, err := store.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(args[0])))
		if errors.Is(err, storage.ErrNotFound) {
			u, err = store.GetUser(ctx, args[0])
		}
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no account %q", args[0])
		}
		if err != nil {
			return err
		}
		var ended int64
		err = store.InTx(ctx, func(ctx context.Context) error {
			if err := store.DeleteTOTP(ctx, u.ID); err != nil {
				return err
			}
			if err := deletePasskeys(ctx, store, u.ID); err != nil {
				return err
			}
			if err := store.DeleteRecoveryCodes(ctx, u.ID); err != nil {
				return err
			}
			ended, err = store.DeleteUserSessions(ctx, u.ID)
			return err
		})
		if err != nil {
			return fmt.Errorf("reset second factors: %w", err)
		}
		now := time.Now
		if cfg.Now != nil {
			now = cfg.Now
		}
		activity.NewRecorder(store, logger, now).Record(ctx, profile.Origin{}, u.ID, profile.Event{Category: profile.CategoryMFADisabled,
			Details: map[string]string{"factor": "all", "by": "administrator"}})
		logger.InfoContext(ctx, "second factors reset by an administrator", "user_id", u.ID, "sessions_ended", ended)
		fmt.Fprintf(c.stdout, "removed the second factors of %s; %d sessions ended\n", u.ID, ended)
		return nil
	})
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
	fromStdin, err := fs.GetBool("password-stdin")
	if err != nil {
		return err
	}
	if fromStdin {
		if password != "" {
			return errors.New("users create takes either --password or --password-stdin, not both")
		}
		if password, err = readPassword(c.stdin); err != nil {
			return err
		}
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
		return errors.New("users create needs --email and --password or --password-stdin")
	}
	// The policy is the registration page's; checked before the database is opened.
	if key := pw.NewPolicy().Check(password); key != "" {
		return fmt.Errorf("password: %s", templates.T(key))
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		accounts, err := c.accounts(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		u, err := accounts.Register(ctx, profile.CommandLine(), email, password, name, admin)
		var fieldErr *signin.FieldError
		switch {
		case errors.Is(err, signin.ErrEmailTaken):
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

// maxPasswordInput bounds what --password-stdin reads; the password policy allows 128
// characters, so anything longer is refused by it, not cut here.
const maxPasswordInput = 4 << 10

// readPassword reads the password from the first line of r (as `echo "$PW" | facet users
// create --password-stdin` or a here-string gives it), without its line ending. Nothing
// else on the line is trimmed: spaces may be part of a passphrase.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("--password-stdin: read standard input: %w", err)
	}
	if len(b) > maxPasswordInput {
		return "", errors.New("--password-stdin: the input is too long for a password")
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("--password-stdin: standard input held no password")
	}
	return line, nil
}

// accounts builds the signin handler, whose Register applies the same rules as the
// registration page (email form, password policy, name split into profile fields).
func (c *cli) accounts(ctx context.Context, cfg config.Config, store storage.Storage, logger *slog.Logger) (*signin.Handler, error) {
	secret, err := resolveSecret(ctx, cfg, store, logger)
	if err != nil {
		return nil, err
	}
	tmpl, err := templates.New()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	events := activity.NewRecorder(store, logger, nil)
	h, err := profile.New(profile.Config{
		Issuer:          cfg.Issuer,
		Secret:          secret,
		SessionIdle:     cfg.SessionIdle,
		SessionAbsolute: cfg.SessionAbsolute,
		SecureCookies:   cfg.SecureCookies(),
	}, profile.Deps{Store: store, Templates: tmpl, Logger: logger, Events: events})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	accounts, err := signin.New(signin.Deps{Kit: h, Store: store, Events: events, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("signin: %w", err)
	}
	return accounts, nil
}

func (c *cli) usersList(cmd *cobra.Command, _ []string) error {
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
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

// deletePasskeys removes every passkey of userID.
func deletePasskeys(ctx context.Context, store *sqlstore.Store, userID string) error {
	list, err := store.ListPasskeys(ctx, userID)
	if err != nil {
		return err
	}
	for _, p := range list {
		if err := store.DeletePasskey(ctx, userID, p.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}
