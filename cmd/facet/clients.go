package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/facetid/facet/cmd/facet/config"
	"github.com/facetid/facet/oauth/registration"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
)

func (c *cli) clientsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Register and manage OAuth2 / OIDC clients (apps)"}

	create := &cobra.Command{
		Use:   "create",
		Short: "Register a client; prints its id and (confidential clients) its secret, shown only once",
		Args:  cobra.NoArgs,
		RunE:  c.clientsCreate,
	}
	addClientFlags(create.Flags())
	create.Flags().String("id", "", "client id (default: generated)")
	create.Flags().Bool("json", false, "print JSON")

	list := &cobra.Command{Use: "list", Short: "List clients", Args: cobra.NoArgs, RunE: c.clientsList}
	list.Flags().Bool("json", false, "print JSON")

	get := &cobra.Command{Use: "get ID", Short: "Show a client", Args: cobra.ExactArgs(1), RunE: c.clientsGet}
	get.Flags().Bool("json", false, "print JSON")

	update := &cobra.Command{
		Use:   "update ID",
		Short: "Change a client; only the flags given change. --rotate-secret issues a new secret",
		Args:  cobra.ExactArgs(1),
		RunE:  c.clientsUpdate,
	}
	addClientFlags(update.Flags())
	update.Flags().Bool("rotate-secret", false, "issue a new client secret (the old one stops working)")
	update.Flags().Bool("json", false, "print JSON")

	del := &cobra.Command{Use: "delete ID", Short: "Delete a client", Args: cobra.ExactArgs(1), RunE: c.clientsDelete}

	cmd.AddCommand(create, list, get, update, del)
	cmd.AddCommand(c.accessCommands()...)
	return cmd
}

func addClientFlags(fs *pflag.FlagSet) {
	fs.String("name", "", "name shown to users on the login and consent pages")
	fs.StringArray("redirect-uri", nil, "redirect URI, exact match (repeatable)")
	fs.StringArray("post-logout-redirect-uri", nil, "post-logout redirect URI (repeatable)")
	fs.StringSlice("grant-type", nil, "grant type (repeatable): authorization_code, refresh_token, client_credentials (default authorization_code,refresh_token)")
	fs.String("scope", "", `space-separated scopes the client may request (default "openid profile email offline_access")`)
	fs.Bool("public", false, "public client (no secret; PKCE; token_endpoint_auth_method none)")
	fs.String("token-endpoint-auth-method", "", "client_secret_basic (default), client_secret_post, or none for public clients")
	fs.String("description", "", "one sentence about the app")
	fs.String("logo-uri", "", "logo URL")
	fs.String("policy-uri", "", "privacy policy URL")
	fs.String("home-uri", "", "home page URL")
	fs.String("backchannel-logout-uri", "", "URL that receives logout tokens (OIDC Back-Channel Logout); https, or http on loopback; empty: none")
	fs.Bool("backchannel-logout-session-required", false, "the app needs sid in its logout tokens")
	fs.String("pkce", "", "PKCE policy: required (default; always for --public) or optional (a confidential client may omit PKCE, a code_challenge it sends is still checked)")
	fs.StringArray("audience", nil, "audience the client may request for its tokens (repeatable): the client id of a resource server that may introspect them, or its URI")
	addAccessFlags(fs)
}

// applyClientFlags copies the flags that were given (all of them for create) onto spec.
func applyClientFlags(fs *pflag.FlagSet, spec *registration.Spec, all bool) error {
	set := func(name string) bool { return all || fs.Changed(name) }
	var err error
	str := func(name string, dst *string) {
		if set(name) && err == nil {
			*dst, err = fs.GetString(name)
		}
	}
	str("name", &spec.Name)
	str("token-endpoint-auth-method", &spec.TokenEndpointAuthMethod)
	str("description", &spec.Description)
	str("logo-uri", &spec.LogoURI)
	str("policy-uri", &spec.PolicyURI)
	str("home-uri", &spec.HomeURI)
	str("backchannel-logout-uri", &spec.BackchannelLogoutURI)
	str("pkce", &spec.PKCE)
	if err != nil {
		return err
	}
	if set("redirect-uri") {
		if spec.RedirectURIs, err = fs.GetStringArray("redirect-uri"); err != nil {
			return err
		}
	}
	if set("audience") {
		if spec.Audience, err = fs.GetStringArray("audience"); err != nil {
			return err
		}
	}
	if set("post-logout-redirect-uri") {
		if spec.PostLogoutRedirectURIs, err = fs.GetStringArray("post-logout-redirect-uri"); err != nil {
			return err
		}
	}
	if set("grant-type") {
		if spec.GrantTypes, err = fs.GetStringSlice("grant-type"); err != nil {
			return err
		}
	}
	if set("scope") {
		s, err := fs.GetString("scope")
		if err != nil {
			return err
		}
		spec.Scopes = strings.Fields(strings.ReplaceAll(s, ",", " "))
	}
	if set("public") {
		if spec.Public, err = fs.GetBool("public"); err != nil {
			return err
		}
	}
	if set("backchannel-logout-session-required") {
		if spec.BackchannelLogoutSessionRequired, err = fs.GetBool("backchannel-logout-session-required"); err != nil {
			return err
		}
	}
	return applyAccessFlags(fs, spec, all)
}

// clientJSON is the --json shape of a client, with RFC 7591 metadata names.
type clientJSON struct {
	ClientID                         string    `json:"client_id"`
	ClientSecret                     string    `json:"client_secret,omitempty"`
	Name                             string    `json:"client_name"`
	Description                      string    `json:"description,omitempty"`
	RedirectURIs                     []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs           []string  `json:"post_logout_redirect_uris"`
	GrantTypes                       []string  `json:"grant_types"`
	ResponseTypes                    []string  `json:"response_types,omitempty"`
	Scope                            string    `json:"scope"`
	Public                           bool      `json:"public"`
	TokenEndpointAuthMethod          string    `json:"token_endpoint_auth_method"`
	LogoURI                          string    `json:"logo_uri,omitempty"`
	PolicyURI                        string    `json:"policy_uri,omitempty"`
	ClientURI                        string    `json:"client_uri,omitempty"`
	BackchannelLogoutURI             string    `json:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool      `json:"backchannel_logout_session_required"`
	PKCE                             string    `json:"pkce"`
	Audience                         []string  `json:"audience"`
	Closed                           bool      `json:"closed"`
	InCatalog                        bool      `json:"in_catalog"`
	Type                             string    `json:"type"`
	RequireMFA                       bool      `json:"require_mfa"`
	CreatedAt                        time.Time `json:"created_at"`
	UpdatedAt                        time.Time `json:"updated_at"`
}

func toClientJSON(cl storage.Client, secret string) clientJSON {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return clientJSON{
		ClientID:                         cl.ID,
		ClientSecret:                     secret,
		Name:                             cl.Name,
		Description:                      cl.Description,
		RedirectURIs:                     orEmpty(cl.RedirectURIs),
		PostLogoutRedirectURIs:           orEmpty(cl.PostLogoutRedirectURIs),
		GrantTypes:                       orEmpty(cl.GrantTypes),
		ResponseTypes:                    cl.ResponseTypes,
		Scope:                            strings.Join(cl.Scopes, " "),
		Public:                           cl.Public,
		TokenEndpointAuthMethod:          cl.TokenEndpointAuthMethod,
		LogoURI:                          cl.LogoURI,
		PolicyURI:                        cl.PolicyURI,
		ClientURI:                        cl.HomeURI,
		BackchannelLogoutURI:             cl.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: cl.BackchannelLogoutSessionRequired,
		PKCE:                             pkcePolicy(cl),
		Audience:                         orEmpty(cl.Audience),
		Closed:                           cl.Closed,
		InCatalog:                        cl.InCatalog,
		Type:                             cl.Type,
		RequireMFA:                       cl.RequireMFA,
		CreatedAt:                        cl.CreatedAt,
		UpdatedAt:                        cl.UpdatedAt,
	}
}

func specOf(cl storage.Client) registration.Spec {
	return registration.Spec{
		ID:                               cl.ID,
		Name:                             cl.Name,
		RedirectURIs:                     cl.RedirectURIs,
		PostLogoutRedirectURIs:           cl.PostLogoutRedirectURIs,
		GrantTypes:                       cl.GrantTypes,
		Scopes:                           cl.Scopes,
		Public:                           cl.Public,
		TokenEndpointAuthMethod:          cl.TokenEndpointAuthMethod,
		LogoURI:                          cl.LogoURI,
		PolicyURI:                        cl.PolicyURI,
		HomeURI:                          cl.HomeURI,
		Description:                      cl.Description,
		BackchannelLogoutURI:             cl.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: cl.BackchannelLogoutSessionRequired,
		PKCE:                             cl.PKCE,
		Audience:                         cl.Audience,
		Closed:                           cl.Closed,
		InCatalog:                        cl.InCatalog,
		Type:                             cl.Type,
		RequireMFA:                       cl.RequireMFA,
	}
}

// pkcePolicy is the PKCE policy the client is served with: a public client always needs PKCE.
func pkcePolicy(cl storage.Client) string {
	if cl.PKCEIsOptional() {
		return storage.PKCEOptional
	}
	return storage.PKCERequired
}

func (c *cli) clientsCreate(cmd *cobra.Command, _ []string) error {
	fs := cmd.Flags()
	var spec registration.Spec
	if err := applyClientFlags(fs, &spec, true); err != nil {
		return err
	}
	id, err := fs.GetString("id")
	if err != nil {
		return err
	}
	spec.ID = id
	if spec.Public && !fs.Changed("token-endpoint-auth-method") {
		spec.TokenEndpointAuthMethod = "none"
	}
	if err := registration.Validate(spec); err != nil {
		return fmt.Errorf("invalid client: %w", err)
	}
	// However the id arrived (--id x, --id=x, a value that looks like a flag), a new id must
	// start with a letter or digit, so that every later command can name it.
	if spec.ID != "" {
		if err := registration.ValidateNewID(spec.ID); err != nil {
			return fmt.Errorf("invalid client: %w", err)
		}
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		cl, secret, err := registration.Create(ctx, store, spec)
		if errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("a client with id %q exists already", spec.ID)
		}
		if err != nil {
			return fmt.Errorf("create client: %w", err)
		}
		return c.printClient(fs, cl, secret)
	})
}

func (c *cli) clientsUpdate(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	rotate, err := fs.GetBool("rotate-secret")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		cl, err := store.GetClient(ctx, args[0])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no client with id %q", args[0])
		}
		if err != nil {
			return fmt.Errorf("get client %q: %w", args[0], err)
		}
		spec := specOf(cl)
		if err := applyClientFlags(fs, &spec, false); err != nil {
			return err
		}
		if spec.Public && fs.Changed("public") && !fs.Changed("token-endpoint-auth-method") {
			spec.TokenEndpointAuthMethod = "none"
		}
		if spec.Public && fs.Changed("public") && !fs.Changed("pkce") {
			spec.PKCE = "" // a public client always needs PKCE
		}
		if !spec.Public && fs.Changed("public") && !fs.Changed("token-endpoint-auth-method") && spec.TokenEndpointAuthMethod == "none" {
			spec.TokenEndpointAuthMethod = ""
		}
		if err := registration.Validate(spec); err != nil {
			return fmt.Errorf("invalid client: %w", err)
		}
		updated, secret, err := registration.Update(ctx, store, cl.ID, spec, rotate)
		if err != nil {
			return fmt.Errorf("update client %q: %w", cl.ID, err)
		}
		return c.printClient(fs, updated, secret)
	})
}

func (c *cli) clientsGet(cmd *cobra.Command, args []string) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		cl, err := store.GetClient(ctx, args[0])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no client with id %q", args[0])
		}
		if err != nil {
			return fmt.Errorf("get client %q: %w", args[0], err)
		}
		return c.printClient(cmd.Flags(), cl, "")
	})
}

func (c *cli) clientsList(cmd *cobra.Command, _ []string) error {
	asJSON, err := cmd.Flags().GetBool("json")
	if err != nil {
		return err
	}
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		clients, err := store.ListClients(ctx)
		if err != nil {
			return fmt.Errorf("list clients: %w", err)
		}
		if asJSON {
			out := make([]clientJSON, 0, len(clients))
			for _, cl := range clients {
				out = append(out, toClientJSON(cl, ""))
			}
			return writeJSONTo(c.stdout, out)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tREDIRECT URIS")
		for _, cl := range clients {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cl.ID, cl.Name, clientType(cl), strings.Join(cl.RedirectURIs, " "))
		}
		return tw.Flush()
	})
}

func (c *cli) clientsDelete(cmd *cobra.Command, args []string) error {
	return c.withStore(cmd, func(ctx context.Context, cfg config.Config, logger *slog.Logger, store *sqlstore.Store) error {
		err := store.DeleteClient(ctx, args[0])
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no client with id %q", args[0])
		}
		if err != nil {
			return fmt.Errorf("delete client %q: %w", args[0], err)
		}
		fmt.Fprintf(c.stdout, "deleted client %s\n", args[0])
		return nil
	})
}

func clientType(cl storage.Client) string {
	if cl.Public {
		return "public"
	}
	return "confidential"
}

// printClient writes a client as JSON (--json) or as lines for a person; a new secret is
// printed once, here, and never again.
func (c *cli) printClient(fs *pflag.FlagSet, cl storage.Client, secret string) error {
	asJSON, err := fs.GetBool("json")
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONTo(c.stdout, toClientJSON(cl, secret))
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "client_id:\t%s\n", cl.ID)
	if secret != "" {
		fmt.Fprintf(tw, "client_secret:\t%s\n", secret)
	}
	fmt.Fprintf(tw, "name:\t%s\n", cl.Name)
	fmt.Fprintf(tw, "type:\t%s\n", clientType(cl))
	fmt.Fprintf(tw, "token_endpoint_auth_method:\t%s\n", cl.TokenEndpointAuthMethod)
	fmt.Fprintf(tw, "redirect_uris:\t%s\n", strings.Join(cl.RedirectURIs, " "))
	fmt.Fprintf(tw, "post_logout_redirect_uris:\t%s\n", strings.Join(cl.PostLogoutRedirectURIs, " "))
	fmt.Fprintf(tw, "grant_types:\t%s\n", strings.Join(cl.GrantTypes, " "))
	fmt.Fprintf(tw, "scope:\t%s\n", strings.Join(cl.Scopes, " "))
	fmt.Fprintf(tw, "pkce:\t%s\n", pkcePolicy(cl))
	if len(cl.Audience) > 0 {
		fmt.Fprintf(tw, "audience:\t%s\n", strings.Join(cl.Audience, " "))
	}
	if cl.BackchannelLogoutURI != "" {
		fmt.Fprintf(tw, "backchannel_logout_uri:\t%s\n", cl.BackchannelLogoutURI)
		fmt.Fprintf(tw, "backchannel_logout_session_required:\t%t\n", cl.BackchannelLogoutSessionRequired)
	}
	fmt.Fprintf(tw, "closed:\t%t\n", cl.Closed)
	fmt.Fprintf(tw, "in_catalog:\t%t\n", cl.InCatalog)
	fmt.Fprintf(tw, "require_mfa:\t%t\n", cl.RequireMFA)
	if cl.Type != "" {
		fmt.Fprintf(tw, "catalog type:\t%s\n", cl.Type)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintln(c.stdout, "Store the client secret now: Facet keeps only a hash and cannot show it again.")
	}
	return nil
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
