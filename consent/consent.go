// Package consent decides what an application may learn about a person: the meaning of the
// privacy levels, which scopes cover which claims, the consent decision for an authorization
// request (Decide), and — in one pure function, Release — which claims each target (userinfo,
// ID token, introspection, public profile, vCard) receives. Service loads the inputs from
// storage, stores grants and keeps the disclosure record.
//
// It owns the meaning of levels, scopes, claims and grants. It does not own the protocol
// (oauth asks it), the pages that edit profile values (profile), or persistence (storage).
package consent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/facetid/facet/storage"
)

// Store is what the consent decisions read and record: grants, privacy levels and the
// release data (profile, levels, grant) of a user, and the disclosure record.
type Store interface {
	storage.Transactor
	storage.GrantStore
	storage.PrivacyStore
	GetProfileFields(ctx context.Context, userID string) ([]storage.ProfileField, error)
}

// Service loads what the decisions need, records grants and keeps the disclosure record.
// NewService builds it.
type Service struct {
	store       Store
	cat         *Catalog
	now         func() time.Time
	disclosures *disclosureLog
}

// NewService returns the service over store. cat is the field catalog in use (nil: the
// built-in one); logger receives what the disclosure record could not store (nil: nowhere);
// now is the clock (nil: time.Now).
func NewService(store Store, cat *Catalog, logger *slog.Logger, now func() time.Time) (*Service, error) {
	if store == nil {
		return nil, errors.New("consent: no store")
	}
	if now == nil {
		now = time.Now
	}
	if cat == nil {
		var err error
		if cat, err = NewCatalog(CatalogConfig{Now: now}); err != nil {
			return nil, fmt.Errorf("consent: built-in catalog: %w", err)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, cat: cat, now: func() time.Time { return now().UTC() }}
	s.disclosures = &disclosureLog{store: store, now: s.now, logger: logger}
	return s, nil
}

// Prompt decides the consent page for userID's authorization request from clientID: which
// requested fields are public, on request or private for this user now, and what the
// existing grant does not cover yet.
func (s *Service) Prompt(ctx context.Context, user storage.User, clientID string, req Request) (Prompt, error) {
	return s.prompt(ctx, user, clientID, req, true)
}

// prompt is Prompt; without page, Released is left out (the caller shows no page).
func (s *Service) prompt(ctx context.Context, user storage.User, clientID string, req Request, page bool) (Prompt, error) {
	fields, private, err := s.profile(ctx, user.ID)
	if err != nil {
		return Prompt{}, err
	}
	g, err := s.grant(ctx, user.ID, clientID)
	if err != nil {
		return Prompt{}, err
	}
	in := PromptInput{User: user, Fields: fields, Catalog: s.cat, PrivateProfile: private, Grant: g, Request: req}
	p := decide(in, page)
	if len(p.Pending) == 0 {
		// Every on-request field is in the grant, so none can be declined: no read needed.
		return p, nil
	}
	ds, err := s.store.GetClaimDeclines(ctx, user.ID, clientID)
	if err != nil {
		return Prompt{}, fmt.Errorf("declined claims of %q for %q: %w", user.ID, clientID, err)
	}
	if len(ds) == 0 {
		return p, nil
	}
	for _, d := range ds {
		in.Declined = append(in.Declined, d.Claim)
	}
	return decide(in, page), nil
}

// Allow records the user's Allow on the consent page: the request's scopes, merged into the
// existing grant, and a decision on each on-request claim the page offered — allowed when
// left checked, declined (and withdrawn from the grant) when unticked — remembered until the
// user decides otherwise; a claim declined again keeps the time of its first decline. Claims
// the page did not offer keep their earlier decision. It returns the prompt it decided from
// (without Released).
func (s *Service) Allow(ctx context.Context, user storage.User, clientID string, req Request, checked []string) (Prompt, error) {
	p, err := s.prompt(ctx, user, clientID, req, false)
	if err != nil {
		return Prompt{}, err
	}
	d := p.Answer(checked)
	// Only what changes is written: allowed claims that were declined, and new declines.
	forget := slices.DeleteFunc(slices.Clone(d.Allowed), func(c string) bool { return !slices.Contains(p.Declined, c) })
	decline := slices.DeleteFunc(slices.Clone(d.Declined), func(c string) bool { return slices.Contains(p.Declined, c) })
	now := s.now()
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.store.GetGrant(ctx, user.ID, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			g = storage.Grant{UserID: user.ID, ClientID: clientID, CreatedAt: now}
		case err != nil:
			return fmt.Errorf("get grant of %q for %q: %w", user.ID, clientID, err)
		}
		g.Scopes = union(g.Scopes, req.Scopes)
		g.Claims = union(slices.DeleteFunc(slices.Clone(g.Claims), func(c string) bool { return slices.Contains(d.Declined, c) }), d.Allowed)
		g.UpdatedAt = now
		if err := s.store.PutGrant(ctx, g); err != nil {
			return fmt.Errorf("put grant of %q for %q: %w", user.ID, clientID, err)
		}
		if len(forget) > 0 {
			if err := s.store.DeleteClaimDeclines(ctx, user.ID, clientID, forget); err != nil {
				return err
			}
		}
		if len(decline) > 0 {
			return s.store.PutClaimDeclines(ctx, user.ID, clientID, decline, now)
		}
		return nil
	})
	if err != nil {
		return Prompt{}, err
	}
	return p, nil
}

// AppDecisions are a user's consent decisions for one app: the scopes granted, the
// on-request claims allowed (the grant) and those declined, with when each was declined.
type AppDecisions struct {
	ClientID  string
	Scopes    []string
	Allowed   []string
	Declined  []storage.ClaimDecline
	UpdatedAt time.Time
}

// Decisions lists userID's consent decisions per app, ordered by client id: what the Scopes
// tab shows and lets the user change.
func (s *Service) Decisions(ctx context.Context, userID string) ([]AppDecisions, error) {
	grants, err := s.store.ListGrants(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("grants of %q: %w", userID, err)
	}
	declines, err := s.store.ListClaimDeclines(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("declined claims of %q: %w", userID, err)
	}
	out := make([]AppDecisions, 0, len(grants))
	for _, g := range grants {
		a := AppDecisions{ClientID: g.ClientID, Scopes: g.Scopes, Allowed: g.Claims, UpdatedAt: g.UpdatedAt}
		for _, d := range declines {
			if d.ClientID == g.ClientID {
				a.Declined = append(a.Declined, d)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// Grant merges scopes and claims into the user's grant for clientID (creating it).
func (s *Service) Grant(ctx context.Context, userID, clientID string, scopes, claims []string) error {
	now := s.now()
	return s.store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.store.GetGrant(ctx, userID, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			g = storage.Grant{UserID: userID, ClientID: clientID, CreatedAt: now}
		case err != nil:
			return fmt.Errorf("get grant of %q for %q: %w", userID, clientID, err)
		}
		g.Scopes = union(g.Scopes, scopes)
		g.Claims = union(g.Claims, claims)
		g.UpdatedAt = now
		if err := s.store.PutGrant(ctx, g); err != nil {
			return fmt.Errorf("put grant of %q for %q: %w", userID, clientID, err)
		}
		return nil
	})
}

// Claims computes, from the user's current data, the claims target receives (Release) and,
// for a release to an app (userinfo, ID token), records which claim names went to clientID.
// issuer makes the picture URL absolute. For the public profile and the vCard pass clientID "".
func (s *Service) Claims(ctx context.Context, target Target, issuer string, user storage.User, clientID string, scopes []string, cr ClaimsRequest) (map[string]any, error) {
	in := ReleaseInput{Target: target, Issuer: issuer, User: user, Catalog: s.cat, Scopes: scopes, Claims: cr}
	switch target {
	case TargetUserinfo, TargetIDToken:
		var err error
		if in.Fields, in.PrivateProfile, err = s.profile(ctx, user.ID); err != nil {
			return nil, err
		}
		if in.Grant, err = s.grant(ctx, user.ID, clientID); err != nil {
			return nil, err
		}
	case TargetPublicProfile, TargetVCard:
		var err error
		if in.Fields, in.PrivateProfile, err = s.profile(ctx, user.ID); err != nil {
			return nil, err
		}
	case TargetIntrospection:
		// Release gives introspection sub only; there is nothing to load.
	}
	return s.release(ctx, in, clientID), nil
}

// ErrUserInactive: UserClaims found no user with that id, or the user is not active.
var ErrUserInactive = errors.New("the user does not exist or is not active")

// UserClaims is Claims for an app (userinfo or the ID token) and a user given by id: the user
// is read together with the release's inputs (storage GetReleaseData: current data, from a
// per-node cache only while the user's release version is unchanged). A user who does not exist or is not active
// gets ErrUserInactive, and nothing is released or recorded.
func (s *Service) UserClaims(ctx context.Context, target Target, issuer, userID, clientID string, scopes []string, cr ClaimsRequest) (map[string]any, storage.User, error) {
	return s.UserClaimsAt(ctx, target, issuer, userID, clientID, scopes, cr, -1)
}

// UserClaimsAt is UserClaims for a caller that read the user's release version together with
// its own data (userinfo, with the access token): storage serves its cached release data at
// that version without another read (storage GetReleaseDataAt). version -1: not read.
func (s *Service) UserClaimsAt(ctx context.Context, target Target, issuer, userID, clientID string, scopes []string, cr ClaimsRequest, version int64) (map[string]any, storage.User, error) {
	var (
		d   storage.ReleaseData
		err error
	)
	if version >= 0 {
		d, err = s.store.GetReleaseDataAt(ctx, userID, clientID, version)
	} else {
		d, err = s.store.GetReleaseData(ctx, userID, clientID)
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && d.User.Status != storage.UserActive) {
		return nil, d.User, ErrUserInactive
	}
	if err != nil {
		return nil, storage.User{}, fmt.Errorf("release data of %q: %w", userID, err)
	}
	in := ReleaseInput{Target: target, Issuer: issuer, User: d.User, Catalog: s.cat, Scopes: scopes, Claims: cr,
		Fields: d.Fields, PrivateProfile: d.PrivateProfile, Grant: d.Grant}
	return s.release(ctx, in, clientID), d.User, nil
}

// release runs Release and, for a release to an app, records which claim names went to it.
func (s *Service) release(ctx context.Context, in ReleaseInput, clientID string) map[string]any {
	claims := Release(in)
	if (in.Target == TargetUserinfo || in.Target == TargetIDToken) && clientID != "" {
		names := make([]string, 0, len(claims))
		for k := range claims {
			names = append(names, k)
		}
		s.disclosures.record(ctx, in.User.ID, clientID, names)
	}
	return claims
}

// profile loads the user's fields and private-profile switch.
func (s *Service) profile(ctx context.Context, userID string) ([]storage.ProfileField, bool, error) {
	fields, err := s.store.GetProfileFields(ctx, userID)
	if err != nil {
		return nil, false, fmt.Errorf("profile fields of %q: %w", userID, err)
	}
	private, err := s.store.GetPrivateProfile(ctx, userID)
	if err != nil {
		return nil, false, fmt.Errorf("private profile of %q: %w", userID, err)
	}
	return fields, private, nil
}

// grant loads the user's grant for clientID; none is the zero grant.
func (s *Service) grant(ctx context.Context, userID, clientID string) (storage.Grant, error) {
	if clientID == "" {
		return storage.Grant{}, nil
	}
	g, err := s.store.GetGrant(ctx, userID, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Grant{}, nil
	}
	if err != nil {
		return storage.Grant{}, fmt.Errorf("grant of %q for %q: %w", userID, clientID, err)
	}
	return g, nil
}

// SetLevel stores the user's privacy level for a catalog field or a linked identifier
// (IdentifierKey; the caller checks the identifier is the user's), keeping its value (a field
// without a value gets a row with an empty value, which carries only the level). It returns
// false when key is neither. The change applies to the next release at once.
func (s *Service) SetLevel(ctx context.Context, userID, key string, l Level) (bool, error) {
	if _, ok := s.cat.Field(key); !ok {
		if _, ok := IdentifierID(key); !ok {
			return false, nil
		}
	}
	if _, ok := ParseLevel(string(l)); !ok {
		return false, fmt.Errorf("set level of %q: unknown level %q", key, l)
	}
	if err := s.store.SetFieldPrivacy(ctx, userID, key, string(l), s.now()); err != nil {
		return false, fmt.Errorf("set level of %q for %q: %w", key, userID, err)
	}
	return true, nil
}

// Levels returns the user's effective stored level of every catalog field (the default where
// the user chose none), and the private-profile switch.
func (s *Service) Levels(ctx context.Context, userID string) (map[string]Level, bool, error) {
	fields, private, err := s.profile(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	stored := make(map[string]string, len(fields))
	for _, f := range fields {
		stored[f.Field] = f.Privacy
	}
	out := map[string]Level{}
	for _, f := range s.cat.Fields() {
		out[f.Key] = FieldLevel(s.cat, f.Key, stored[f.Key])
	}
	return out, private, nil
}

// union returns a followed by the members of b not in a, without duplicates.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, v := range slices.Concat(a, b) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
