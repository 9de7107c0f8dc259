package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth/federation"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

func (c *cli) loginMethodsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "login-methods", Short: "Manage upstream login methods (sign in with GitHub, Google, an OIDC provider, ...)"}
	create := &cobra.Command{Use: "create", Short: "Add a login method; prints its id and the callback URL to register at the provider",
		Args: cobra.NoArgs, RunE: c.loginMethodsCreate}
	addLoginMethodFlags(create.Flags())
	list := &cobra.Command{Use: "list", Short: "List login methods", Args: cobra.NoArgs, RunE: c.loginMethodsList}
	list.Flags().Bool("json", false, "print JSON")
	get := &cobra.Command{Use: "get ID", Short: "Show a login method", Args: cobra.ExactArgs(1), RunE: c.loginMethodsGet}
	get.Flags().Bool("json", false, "print JSON")
	update := &cobra.Command{Use: "update ID", Short: "Change a login method; only the flags given change",
		Args: cobra.ExactArgs(1), RunE: c.loginMethodsUpdate}
	addLoginMethodFlags(update.Flags())
	del := &cobra.Command{Use: "delete ID", Short: "Delete a login method and unlink every identifier it linked",
		Args: cobra.ExactArgs(1), RunE: c.loginMethodsDelete}
	cmd.AddCommand(create, list, get, update, del)
	return cmd
}

func addLoginMethodFlags(fs *pflag.FlagSet) {
	fs.String("name", "", "name shown on the login page and in the profile (default: the preset's)")
	fs.String("type", "", "oidc (issuer discovery) or oauth2 (auth, token and userinfo URLs)")
	fs.String("preset", "", "fill URLs, scopes and mapping for: "+strings.Join(federation.PresetNames(), ", "))
	fs.String("issuer", "", "OIDC issuer URL (discovery at /.well-known/openid-configuration)")
	fs.String("auth-url", "", "OAuth 2.0 authorization endpoint")
	fs.String("token-url", "", "OAuth 2.0 token endpoint")
	fs.String("userinfo-url", "", "userinfo endpoint (JSON)")
	fs.StringArray("map", nil, "claim mapping FIELD=MEMBER[,...] onto "+strings.Join(federation.Fields, ", ")+" (a dotted member reaches into objects)")
	fs.String("client-id", "", "client id at the provider")
	fs.Bool("client-secret-stdin", false, "read the client secret from the first line of standard input")
	fs.StringArray("scope", nil, "scope to request (repeatable; default: the preset's, or openid profile email)")
	fs.Bool("public", false, "offer it for linking in the profile")
	fs.Bool("login-page", false, "show a button on the login page")
	fs.String("icon", "", "icon URL")
	fs.Bool("json", false, "print JSON")
}

// applyLoginMethodFlags copies the flags given (all of them for create) onto s.
func (c *cli) applyLoginMethodFlags(fs *pflag.FlagSet, s *federation.Spec, all bool) error {
	set := func(name string) bool { return all || fs.Changed(name) }
	var err error
	str := func(name string, dst *string) {
		if set(name) && err == nil {
			*dst, err = fs.GetString(name)
		}
	}
	boolean := func(name string, dst *bool) {
		if set(name) && err == nil {
			*dst, err = fs.GetBool(name)
		}
	}
	str("name", &s.Name)
	str("type", &s.Type)
	str("preset", &s.Preset)
	str("issuer", &s.Issuer)
	str("auth-url", &s.AuthURL)
	str("token-url", &s.TokenURL)
	str("userinfo-url", &s.UserinfoURL)
	str("client-id", &s.ClientID)
	str("icon", &s.IconURL)
	boolean("public", &s.Public)
	boolean("login-page", &s.LoginPage)
	if err != nil {
		return err
	}
	if set("scope") {
		scopes, err := fs.GetStringArray("scope")
		if err != nil {
			return err
		}
		s.Scopes = nil
		for _, sc := range scopes {
			s.Scopes = append(s.Scopes, strings.Fields(strings.ReplaceAll(sc, ",", " "))...)
		}
	}
	if set("map") {
		pairs, err := fs.GetStringArray("map")
		if err != nil {
			return err
		}
		m, err := federation.ParseClaimMap(pairs)
		if err != nil {
			return err
		}
		if all {
			s.ClaimMap = m
		} else {
			merged := map[string]string{}
			for k, v := range s.ClaimMap {
				merged[k] = v
			}
			for k, v := range m {
				merged[k] = v
			}
			s.ClaimMap = merged
		}
	}
	fromStdin, err := fs.GetBool("client-secret-stdin")
	if err != nil {
		return err
	}
	if fromStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("--client-secret-stdin: nothing on standard input")
		}
		s.Secret = strings.TrimRight(line, "\r\n")
		if s.Secret == "" {
			return errors.New("--client-secret-stdin: the secret is empty")
		}
	}
	return nil
}

// loginMethodJSON is the --json shape of a login method; the secret is never printed.
type loginMethodJSON struct {
	ID          string            `json:"id"`
	CallbackURL string            `json:"callback_url"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Preset      string            `json:"preset,omitempty"`
	Issuer      string            `json:"issuer,omitempty"`
	AuthURL     string            `json:"auth_url,omitempty"`
	TokenURL    string            `json:"token_url,omitempty"`
	UserinfoURL string            `json:"userinfo_url,omitempty"`
	ClientID    string            `json:"client_id"`
	Scopes      []string          `json:"scopes"`
	ClaimMap    map[string]string `json:"claim_map"`
	Icon        string            `json:"icon,omitempty"`
	Public      bool              `json:"public"`
	LoginPage   bool              `json:"login_page"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func toLoginMethodJSON(issuer string, m storage.LoginMethod) loginMethodJSON {
	scopes, claims := m.Scopes, m.ClaimMap
	if scopes == nil {
		scopes = []string{}
	}
	if claims == nil {
		claims = map[string]string{}
	}
	return loginMethodJSON{ID: m.ID, CallbackURL: federation.CallbackURL(issuer, m.ID), Name: m.Name, Type: m.Type, Preset: m.Preset,
		Issuer: m.Issuer, AuthURL: m.AuthURL, TokenURL: m.TokenURL, UserinfoURL: m.UserinfoURL, ClientID: m.ClientID,
		Scopes: scopes, ClaimMap: claims, Icon: m.IconURL, Public: m.Public, LoginPage: m.LoginPage,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func (c *cli) printLoginMethod(fs *pflag.FlagSet, issuer string, m storage.LoginMethod) error {
	asJSON, err := fs.GetBool("json")
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONTo(c.stdout, toLoginMethodJSON(issuer, m))
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", m.ID)
	fmt.Fprintf(tw, "callback_url:\t%s\n", federation.CallbackURL(issuer, m.ID))
	fmt.Fprintf(tw, "name:\t%s\n", m.Name)
	fmt.Fprintf(tw, "type:\t%s\n", m.Type)
	if m.Issuer != "" {
		fmt.Fprintf(tw, "issuer:\t%s\n", m.Issuer)
	} else {
		fmt.Fprintf(tw, "auth_url:\t%s\ntoken_url:\t%s\nuserinfo_url:\t%s\n", m.AuthURL, m.TokenURL, m.UserinfoURL)
	}
	fmt.Fprintf(tw, "client_id:\t%s\n", m.ClientID)
	fmt.Fprintf(tw, "scopes:\t%s\n", strings.Join(m.Scopes, " "))
	fmt.Fprintf(tw, "public:\t%t\nlogin_page:\t%t\n", m.Public, m.LoginPage)
	return tw.Flush()
}

// loginMethodSecret is the system secret the client secrets are sealed with.
func (c *cli) loginMethodSecret(ctx context.Context, cfg config.Config, store *sqlstore.Store, logger *slog.Logger) ([]byte, error) {
	return resolveSecret(ctx, cfg, store, logger)
}

func (c *cli) loginMethodsCreate(cmd *cobra.Command, _ []string) error {
	fs := cmd.Flags()
	var s federation.Spec
	if err := c.applyLoginMethodFlags(fs, &s, true); err != nil {
		return err
	}
	if s.Secret == "" {
		return errors.New("a client secret is required: pass it on standard input with --client-secret-stdin")
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		secret, err := c.loginMethodSecret(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		m, err := federation.Create(ctx, store, secret, s, time.Now())
		if err != nil {
			return fmt.Errorf("create login method: %w", err)
		}
		return c.printLoginMethod(fs, cfg.Issuer, m)
	})
}

func (c *cli) loginMethodsUpdate(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		m, err := store.GetLoginMethod(ctx, args[0])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no login method with id %q", args[0])
		}
		if err != nil {
			return err
		}
		s := federation.SpecOf(m)
		if err := c.applyLoginMethodFlags(fs, &s, false); err != nil {
			return err
		}
		secret, err := c.loginMethodSecret(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		updated, err := federation.Update(ctx, store, secret, m.ID, s, time.Now())
		if err != nil {
			return fmt.Errorf("update login method %q: %w", m.ID, err)
		}
		return c.printLoginMethod(fs, cfg.Issuer, updated)
	})
}

func (c *cli) loginMethodsGet(cmd *cobra.Command, args []string) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		m, err := store.GetLoginMethod(ctx, args[0])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no login method with id %q", args[0])
		}
		if err != nil {
			return err
		}
		return c.printLoginMethod(cmd.Flags(), cfg.Issuer, m)
	})
}

func (c *cli) loginMethodsList(cmd *cobra.Command, _ []string) error {
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		methods, err := store.ListLoginMethods(ctx)
		if err != nil {
			return fmt.Errorf("list login methods: %w", err)
		}
		if asJSON {
			out := make([]loginMethodJSON, 0, len(methods))
			for _, m := range methods {
				out = append(out, toLoginMethodJSON(cfg.Issuer, m))
			}
			return writeJSONTo(c.stdout, out)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tTYPE\tPUBLIC\tLOGIN PAGE")
		for _, m := range methods {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%t\n", m.ID, m.Name, m.Type, m.Public, m.LoginPage)
		}
		return tw.Flush()
	})
}

func (c *cli) loginMethodsDelete(cmd *cobra.Command, args []string) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		err := store.DeleteLoginMethod(ctx, args[0])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no login method with id %q", args[0])
		}
		if err != nil {
			return fmt.Errorf("delete login method %q: %w", args[0], err)
		}
		fmt.Fprintf(c.stdout, "deleted login method %s\n", args[0])
		return nil
	})
}
