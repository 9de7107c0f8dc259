package sqlstore

import (
	"context"
	"fmt"

	"github.com/facetid/facet/storage"
)

const clientCols = `id, secret_hash, name, description, logo_uri, policy_uri, home_uri,
	redirect_uris, post_logout_redirect_uris, grant_types, response_types, scopes, audience,
	public, token_endpoint_auth_method, backchannel_logout_uri, backchannel_logout_session_required,
	pkce, created_at, updated_at, closed, in_catalog, type, require_mfa`

func scanClient(sc scanner) (storage.Client, error) {
	var (
		c                                        storage.Client
		redirects, postLogout, grants, responses string
		scopes, audience                         string
	)
	err := sc.Scan(&c.ID, &c.SecretHash, &c.Name, &c.Description, &c.LogoURI, &c.PolicyURI, &c.HomeURI,
		&redirects, &postLogout, &grants, &responses, &scopes, &audience,
		&c.Public, &c.TokenEndpointAuthMethod, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired,
		&c.PKCE, &c.CreatedAt, &c.UpdatedAt, &c.Closed, &c.InCatalog, &c.Type, &c.RequireMFA)
	if err != nil {
		return storage.Client{}, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	var errs [6]error
	c.RedirectURIs, errs[0] = decodeList(redirects)
	c.PostLogoutRedirectURIs, errs[1] = decodeList(postLogout)
	c.GrantTypes, errs[2] = decodeList(grants)
	c.ResponseTypes, errs[3] = decodeList(responses)
	c.Scopes, errs[4] = decodeList(scopes)
	c.Audience, errs[5] = decodeList(audience)
	for _, err := range errs {
		if err != nil {
			return storage.Client{}, fmt.Errorf("client %q: %w", c.ID, err)
		}
	}
	return c, nil
}

// CreateClient stores c; ErrAlreadyExists when its id is taken.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	_, err := s.exec(ctx, `INSERT INTO clients (`+clientCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.SecretHash, c.Name, c.Description, c.LogoURI, c.PolicyURI, c.HomeURI,
		encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs), encodeList(c.GrantTypes),
		encodeList(c.ResponseTypes), encodeList(c.Scopes), encodeList(c.Audience),
		c.Public, c.TokenEndpointAuthMethod, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired,
		pkceOf(c), ts(c.CreatedAt), ts(c.UpdatedAt), c.Closed, c.InCatalog, c.Type, c.RequireMFA)
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ID, mapErr(err))
	}
	return nil
}

// GetClient returns the client with id.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := scanClient(s.row(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return storage.Client{}, fmt.Errorf("get client %q: %w", id, mapErr(err))
	}
	return c, nil
}

// ListClients returns every client ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	rows, err := s.rows(ctx, `SELECT `+clientCols+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", mapErr(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list clients: %w", mapErr(err))
	}
	return out, nil
}

// UpdateClient overwrites every field of client c.ID but CreatedAt; ErrNotFound when absent.
func (s *Store) UpdateClient(ctx context.Context, c storage.Client) error {
	n, err := s.execN(ctx, `UPDATE clients SET secret_hash = ?, name = ?, description = ?, logo_uri = ?,
		policy_uri = ?, home_uri = ?, redirect_uris = ?, post_logout_redirect_uris = ?, grant_types = ?,
		response_types = ?, scopes = ?, audience = ?, public = ?, token_endpoint_auth_method = ?,
		backchannel_logout_uri = ?, backchannel_logout_session_required = ?, pkce = ?, updated_at = ?, closed = ?, in_catalog = ?,
		type = ?, require_mfa = ? WHERE id = ?`,
		c.SecretHash, c.Name, c.Description, c.LogoURI, c.PolicyURI, c.HomeURI,
		encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs), encodeList(c.GrantTypes),
		encodeList(c.ResponseTypes), encodeList(c.Scopes), encodeList(c.Audience),
		c.Public, c.TokenEndpointAuthMethod, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired,
		pkceOf(c), ts(c.UpdatedAt), c.Closed, c.InCatalog, c.Type, c.RequireMFA, c.ID)
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("update client %q: %w", c.ID, storage.ErrNotFound)
	}
	return nil
}

// DeleteClient removes the client and, by cascade, its consent grants; ErrNotFound when
// absent. Its tokens stay until they expire: every use of a token looks the client up first.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	n, err := s.execN(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete client %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("delete client %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// pkceOf is the stored PKCE policy of c: empty is required.
func pkceOf(c storage.Client) string {
	if c.PKCE == "" {
		return storage.PKCERequired
	}
	return c.PKCE
}
