package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/facetid/facet/storage"
)

const loginMethodCols = `id, name, type, preset, issuer, auth_url, token_url, userinfo_url, client_id,
	client_secret, scopes, claim_map, icon_url, public, login_page, created_at, updated_at`

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil { // map[string]string always marshals
		panic(err)
	}
	return string(b)
}

func decodeMap(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func scanLoginMethod(sc scanner) (storage.LoginMethod, error) {
	var (
		m              storage.LoginMethod
		scopes, claims string
	)
	if err := sc.Scan(&m.ID, &m.Name, &m.Type, &m.Preset, &m.Issuer, &m.AuthURL, &m.TokenURL, &m.UserinfoURL,
		&m.ClientID, &m.ClientSecret, &scopes, &claims, &m.IconURL, &m.Public, &m.LoginPage, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return storage.LoginMethod{}, mapErr(err)
	}
	var err error
	if m.Scopes, err = decodeList(scopes); err != nil {
		return storage.LoginMethod{}, err
	}
	if m.ClaimMap, err = decodeMap(claims); err != nil {
		return storage.LoginMethod{}, err
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, nil
}

// CreateLoginMethod stores m; ErrAlreadyExists when its id is taken.
func (s *Store) CreateLoginMethod(ctx context.Context, m storage.LoginMethod) error {
	_, err := s.exec(ctx, `INSERT INTO login_methods (`+loginMethodCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Name, m.Type, m.Preset, m.Issuer, m.AuthURL, m.TokenURL, m.UserinfoURL, m.ClientID,
		m.ClientSecret, encodeList(m.Scopes), encodeMap(m.ClaimMap), m.IconURL, m.Public, m.LoginPage,
		ts(m.CreatedAt), ts(m.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create login method %q: %w", m.ID, mapErr(err))
	}
	return nil
}

// GetLoginMethod returns the method id.
func (s *Store) GetLoginMethod(ctx context.Context, id string) (storage.LoginMethod, error) {
	m, err := scanLoginMethod(s.row(ctx, `SELECT `+loginMethodCols+` FROM login_methods WHERE id = ?`, id))
	if err != nil {
		return storage.LoginMethod{}, fmt.Errorf("get login method %q: %w", id, err)
	}
	return m, nil
}

// ListLoginMethods returns every method by name.
func (s *Store) ListLoginMethods(ctx context.Context) ([]storage.LoginMethod, error) {
	rows, err := s.rows(ctx, `SELECT `+loginMethodCols+` FROM login_methods ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list login methods: %w", mapErr(err))
	}
	defer rows.Close()
	var out []storage.LoginMethod
	for rows.Next() {
		m, err := scanLoginMethod(rows)
		if err != nil {
			return nil, fmt.Errorf("list login methods: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list login methods: %w", mapErr(err))
	}
	return out, nil
}

// UpdateLoginMethod replaces every field of m but its id and creation time.
func (s *Store) UpdateLoginMethod(ctx context.Context, m storage.LoginMethod) error {
	n, err := s.execN(ctx, `UPDATE login_methods SET name = ?, type = ?, preset = ?, issuer = ?, auth_url = ?,
		token_url = ?, userinfo_url = ?, client_id = ?, client_secret = ?, scopes = ?, claim_map = ?, icon_url = ?,
		public = ?, login_page = ?, updated_at = ? WHERE id = ?`,
		m.Name, m.Type, m.Preset, m.Issuer, m.AuthURL, m.TokenURL, m.UserinfoURL, m.ClientID, m.ClientSecret,
		encodeList(m.Scopes), encodeMap(m.ClaimMap), m.IconURL, m.Public, m.LoginPage, ts(m.UpdatedAt), m.ID)
	if err != nil {
		return fmt.Errorf("update login method %q: %w", m.ID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("update login method %q: %w", m.ID, storage.ErrNotFound)
	}
	return nil
}

// DeleteLoginMethod deletes the method and, by the foreign key, its identifiers.
func (s *Store) DeleteLoginMethod(ctx context.Context, id string) error {
	n, err := s.execN(ctx, `DELETE FROM login_methods WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete login method %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("delete login method %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

const identifierCols = `id, user_id, method_id, subject, email, name, picture, linked_at, last_used_at`

func scanIdentifier(sc scanner) (storage.Identifier, error) {
	var i storage.Identifier
	if err := sc.Scan(&i.ID, &i.UserID, &i.MethodID, &i.Subject, &i.Email, &i.Name, &i.Picture, &i.LinkedAt, &i.LastUsedAt); err != nil {
		return storage.Identifier{}, mapErr(err)
	}
	i.LinkedAt, i.LastUsedAt = i.LinkedAt.UTC(), i.LastUsedAt.UTC()
	return i, nil
}

// CreateIdentifier links i; ErrAlreadyExists when its id or (method, subject) is taken, or
// when the user or the method does not exist (ErrNotFound).
func (s *Store) CreateIdentifier(ctx context.Context, i storage.Identifier) error {
	n, err := s.execN(ctx, `INSERT INTO identifiers (`+identifierCols+`)
		SELECT ?, u.id, m.id, ?, ?, ?, ?, ?, ? FROM users u, login_methods m WHERE u.id = ? AND m.id = ?`,
		i.ID, i.Subject, i.Email, i.Name, i.Picture, ts(i.LinkedAt), ts(i.LastUsedAt), i.UserID, i.MethodID)
	if err != nil {
		return fmt.Errorf("create identifier: %w", mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("create identifier: user %q or method %q: %w", i.UserID, i.MethodID, storage.ErrNotFound)
	}
	return nil
}

// GetIdentifierBySubject returns the identifier linked for (methodID, subject).
func (s *Store) GetIdentifierBySubject(ctx context.Context, methodID, subject string) (storage.Identifier, error) {
	i, err := scanIdentifier(s.row(ctx, `SELECT `+identifierCols+` FROM identifiers WHERE method_id = ? AND subject = ?`, methodID, subject))
	if err != nil {
		return storage.Identifier{}, fmt.Errorf("get identifier of method %q: %w", methodID, err)
	}
	return i, nil
}

// ListIdentifiers returns userID's identifiers, oldest link first.
func (s *Store) ListIdentifiers(ctx context.Context, userID string) ([]storage.Identifier, error) {
	rows, err := s.rows(ctx, `SELECT `+identifierCols+` FROM identifiers WHERE user_id = ? ORDER BY linked_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list identifiers of %q: %w", userID, mapErr(err))
	}
	defer rows.Close()
	var out []storage.Identifier
	for rows.Next() {
		i, err := scanIdentifier(rows)
		if err != nil {
			return nil, fmt.Errorf("list identifiers of %q: %w", userID, err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list identifiers of %q: %w", userID, mapErr(err))
	}
	return out, nil
}

// TouchIdentifier records a sign-in with identifier id.
func (s *Store) TouchIdentifier(ctx context.Context, id, email, name, picture string, at time.Time) error {
	n, err := s.execN(ctx, `UPDATE identifiers SET email = ?, name = ?, picture = ?, last_used_at = ? WHERE id = ?`,
		email, name, picture, ts(at), id)
	if err != nil {
		return fmt.Errorf("touch identifier %q: %w", id, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("touch identifier %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// DeleteIdentifier removes userID's identifier id unless it is the last way in. The first
// statement writes the user's row (changing nothing), which locks it on PostgreSQL and takes
// the write lock on SQLite, so concurrent deletes for one user run one after the other and
// each counts what the other left.
func (s *Store) DeleteIdentifier(ctx context.Context, userID, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.execN(ctx, `UPDATE users SET updated_at = updated_at WHERE id = ?`, userID)
		if err != nil {
			return fmt.Errorf("delete identifier %q: %w", id, mapErr(err))
		}
		if n == 0 {
			return fmt.Errorf("delete identifier %q: %w", id, storage.ErrNotFound)
		}
		var hasPassword bool
		var others int
		err = s.row(ctx, `SELECT
				(SELECT password_hash <> '' FROM users WHERE id = ?),
				(SELECT count(*) FROM identifiers WHERE user_id = ? AND id <> ?)`, userID, userID, id).Scan(&hasPassword, &others)
		if err != nil {
			return fmt.Errorf("delete identifier %q: %w", id, mapErr(err))
		}
		var mine int
		if err := s.row(ctx, `SELECT count(*) FROM identifiers WHERE id = ? AND user_id = ?`, id, userID).Scan(&mine); err != nil {
			return fmt.Errorf("delete identifier %q: %w", id, mapErr(err))
		}
		if mine == 0 {
			return fmt.Errorf("delete identifier %q: %w", id, storage.ErrNotFound)
		}
		if !hasPassword && others == 0 {
			return fmt.Errorf("delete identifier %q: %w", id, storage.ErrLastSignInMethod)
		}
		if _, err := s.exec(ctx, `DELETE FROM identifiers WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return fmt.Errorf("delete identifier %q: %w", id, mapErr(err))
		}
		// Its privacy level goes with it.
		if _, err := s.exec(ctx, `DELETE FROM profile_fields WHERE user_id = ? AND field = ?`, userID, "identifier:"+id); err != nil {
			return fmt.Errorf("delete identifier %q: %w", id, mapErr(err))
		}
		return nil
	})
}
