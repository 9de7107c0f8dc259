package lifecycle

import (
	"bufio"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/storage"
)

// SchemaVersion is the export's schema_version: it grows when a member changes meaning or
// goes; new members may appear within a version (the schema allows them).
const SchemaVersion = 1

// eventPage is how many activity-log events the export reads at a time: the log is streamed
// page by page, never held whole.
const eventPage = storage.MaxEventPage

// export is the document of Download Data, everything before the activity log, which
// writeExport streams after it. Every list is present (empty rather than null).
type export struct {
	SchemaVersion   int              `json:"schema_version"`
	ExportedAt      time.Time        `json:"exported_at"`
	Issuer          string           `json:"issuer"`
	Account         exportAccount    `json:"account"`
	Profile         []exportField    `json:"profile"`
	Contacts        exportContacts   `json:"contacts"`
	Photo           *exportPhoto     `json:"photo"`
	Apps            []exportApp      `json:"apps"`
	Disclosures     []exportDisclose `json:"disclosures"`
	BrowserSessions []exportSession  `json:"browser_sessions"`
	Identifiers     []Identifier     `json:"identifiers"`
	BusinessCard    *Card            `json:"business_card"`
	AppAccess       []Access         `json:"app_access"`
	Invitations     []Invitation     `json:"invitations"`
	Favorites       []exportFavorite `json:"favorites"`
}

type exportAccount struct {
	Sub            string          `json:"sub"`
	Email          string          `json:"email"`
	EmailVerified  bool            `json:"email_verified"`
	Status         string          `json:"status"`
	Admin          bool            `json:"admin"`
	HasPassword    bool            `json:"has_password"`
	PrivateProfile bool            `json:"private_profile"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	Deletion       *exportDeletion `json:"deletion"`
}

type exportDeletion struct {
	RequestedAt time.Time `json:"requested_at"`
	PurgeAfter  time.Time `json:"purge_after"`
}

// exportField is one profile field with the privacy level its owner chose for it (the
// catalog default when never chosen).
type exportField struct {
	Field     string     `json:"field"`
	Value     string     `json:"value"`
	Privacy   string     `json:"privacy"`
	UpdatedAt *time.Time `json:"updated_at"`
}

type exportContacts struct {
	Email exportContact `json:"email"`
	Phone exportContact `json:"phone"`
}

// exportContact is an address or number and its verification state: Value is the current
// one ("" when none), Pending a new one waiting for its code.
type exportContact struct {
	Value    string         `json:"value"`
	Verified bool           `json:"verified"`
	Pending  *exportPending `json:"pending"`
}

type exportPending struct {
	Value     string    `json:"value"`
	Channel   string    `json:"channel"`
	SentAt    time.Time `json:"sent_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// exportPhoto is the profile photo: its URL and, when Facet holds the bytes, their SHA-256.
type exportPhoto struct {
	URL         string     `json:"url"`
	SHA256      string     `json:"sha256"`
	ContentType string     `json:"content_type"`
	UploadedAt  *time.Time `json:"uploaded_at"`
}

// exportApp is a grant: the app, what it may receive, what was declined, and its tokens.
type exportApp struct {
	ClientID       string     `json:"client_id"`
	Name           string     `json:"name"`
	Scopes         []string   `json:"scopes"`
	Claims         []string   `json:"claims"`
	DeclinedClaims []string   `json:"declined_claims"`
	GrantedAt      time.Time  `json:"granted_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ActiveTokens   int        `json:"active_tokens"`
	ActiveSessions int        `json:"active_sessions"`
	LastUsedAt     *time.Time `json:"last_used_at"`
}

// exportDisclose is a line of the disclosure record: which claims went to an app, how often,
// first and last when. It outlives the grant (a revoked app's record stays).
type exportDisclose struct {
	ClientID string    `json:"client_id"`
	Claims   []string  `json:"claims"`
	FirstAt  time.Time `json:"first_at"`
	LastAt   time.Time `json:"last_at"`
	Count    int       `json:"count"`
}

// exportFavorite is an app the person marked favorite in the catalog, whether the catalog
// shows it now or not (an app taken out of the catalog keeps the mark).
type exportFavorite struct {
	ClientID string    `json:"client_id"`
	Name     string    `json:"name"`
	MarkedAt time.Time `json:"marked_at"`
}

// exportSession is a browser session, with the apps signed in through it (the sid each
// received, what back-channel logout names).
type exportSession struct {
	CreatedAt  time.Time          `json:"created_at"`
	LastSeenAt time.Time          `json:"last_seen_at"`
	ExpiresAt  time.Time          `json:"expires_at"`
	AuthTime   time.Time          `json:"auth_time"`
	AMR        []string           `json:"amr"`
	IP         string             `json:"ip"`
	UserAgent  string             `json:"user_agent"`
	Apps       []exportSessionApp `json:"apps"`
}

type exportSessionApp struct {
	ClientID   string    `json:"client_id"`
	SID        string    `json:"sid"`
	SignedInAt time.Time `json:"signed_in_at"`
}

// exportEvent is one activity-log event.
type exportEvent struct {
	ID       string            `json:"id"`
	Category string            `json:"category"`
	At       time.Time         `json:"at"`
	ClientID string            `json:"client_id"`
	Device   string            `json:"device"`
	Browser  string            `json:"browser"`
	OS       string            `json:"os"`
	IP       string            `json:"ip"`
	Details  map[string]string `json:"details"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// prepareExport reads everything of u's export but the activity log.
func (h *Handler) prepareExport(ctx context.Context, u storage.User) (export, error) {
	now := h.now().UTC()
	e := export{SchemaVersion: SchemaVersion, ExportedAt: now, Issuer: h.cfg.Issuer,
		Profile: []exportField{}, Apps: []exportApp{}, Disclosures: []exportDisclose{}, BrowserSessions: []exportSession{},
		Favorites: []exportFavorite{}}
	private, err := h.store.GetPrivateProfile(ctx, u.ID)
	if err != nil {
		return export{}, fmt.Errorf("private profile: %w", err)
	}
	e.Account = exportAccount{Sub: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Status: u.Status, Admin: u.Admin,
		HasPassword: u.PasswordHash != "", PrivateProfile: private, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Status == storage.UserPendingDeletion {
		d, err := h.store.GetDeletion(ctx, u.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return export{}, fmt.Errorf("deletion: %w", err)
		}
		if err == nil {
			e.Account.Deletion = &exportDeletion{RequestedAt: d.RequestedAt, PurgeAfter: d.PurgeAfter}
		}
	}

	fields, err := h.store.GetProfileFields(ctx, u.ID)
	if err != nil {
		return export{}, fmt.Errorf("profile fields: %w", err)
	}
	stored := map[string]storage.ProfileField{}
	for _, f := range fields {
		stored[f.Field] = f
	}
	seen := map[string]bool{}
	for _, c := range h.kit.Catalog.Fields() {
		f, ok := stored[c.Key]
		v := exportField{Field: c.Key, Value: f.Value, Privacy: string(consent.FieldLevel(h.kit.Catalog, c.Key, f.Privacy))}
		if c.Key == "email" {
			v.Value = u.Email
		}
		if ok {
			v.UpdatedAt = timePtr(f.UpdatedAt)
		}
		e.Profile = append(e.Profile, v)
		seen[c.Key] = true
	}
	// Rows the catalog no longer names are still the person's data.
	for _, f := range fields {
		if !seen[f.Field] {
			e.Profile = append(e.Profile, exportField{Field: f.Field, Value: f.Value, Privacy: f.Privacy, UpdatedAt: timePtr(f.UpdatedAt)})
		}
	}

	e.Contacts.Email = exportContact{Value: u.Email, Verified: u.EmailVerified && u.Email != ""}
	e.Contacts.Phone = exportContact{Value: stored["phone_number"].Value, Verified: stored["phone_number"].Value != ""}
	for kind, c := range map[string]*exportContact{storage.ContactEmail: &e.Contacts.Email, storage.ContactPhone: &e.Contacts.Phone} {
		v, err := h.store.GetVerification(ctx, u.ID, kind)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return export{}, fmt.Errorf("verification: %w", err)
		}
		c.Pending = &exportPending{Value: v.Value, Channel: v.Channel, SentAt: v.LastSentAt, ExpiresAt: v.ExpiresAt}
	}

	if pic := stored["picture"].Value; pic != "" {
		p := &exportPhoto{URL: pic}
		if id, ok := strings.CutPrefix(pic, h.cfg.PhotoPrefix); ok && h.cfg.PhotoPrefix != "" {
			p.URL = h.cfg.Issuer + pic
			ph, err := h.store.GetPhoto(ctx, id)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return export{}, fmt.Errorf("photo: %w", err)
			}
			if err == nil {
				sum := sha256.Sum256(ph.Data)
				p.SHA256, p.ContentType, p.UploadedAt = hex.EncodeToString(sum[:]), ph.ContentType, timePtr(ph.CreatedAt)
			}
		}
		e.Photo = p
	}

	if err := h.exportApps(ctx, u.ID, now, &e); err != nil {
		return export{}, err
	}
	if err := h.exportSources(ctx, u, &e); err != nil {
		return export{}, err
	}

	favorites, err := h.store.ListFavorites(ctx, u.ID)
	if err != nil {
		return export{}, fmt.Errorf("favorites: %w", err)
	}
	for _, f := range favorites {
		if f.FavoriteAt != nil {
			e.Favorites = append(e.Favorites, exportFavorite{ClientID: f.ClientID, Name: f.Name, MarkedAt: *f.FavoriteAt})
		}
	}

	sessions, err := h.store.ListUserSessions(ctx, u.ID)
	if err != nil {
		return export{}, fmt.Errorf("sessions: %w", err)
	}
	signedIn, err := h.store.UserSessionClients(ctx, u.ID)
	if err != nil {
		return export{}, fmt.Errorf("session clients: %w", err)
	}
	bySession := map[string][]exportSessionApp{}
	for _, c := range signedIn {
		bySession[c.SessionID] = append(bySession[c.SessionID], exportSessionApp{ClientID: c.ClientID, SID: c.SID, SignedInAt: c.CreatedAt})
	}
	for _, s := range sessions {
		apps := bySession[s.ID]
		if apps == nil {
			apps = []exportSessionApp{}
		}
		e.BrowserSessions = append(e.BrowserSessions, exportSession{CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
			ExpiresAt: s.ExpiresAt, AuthTime: s.AuthTime, AMR: orEmpty(s.AMR), IP: s.IP, UserAgent: s.UserAgent, Apps: apps})
	}
	return e, nil
}

// exportApps fills the grants (with their apps' names and token figures), the declines and the
// disclosure record.
func (h *Handler) exportApps(ctx context.Context, userID string, now time.Time, e *export) error {
	grants, err := h.store.ListGrants(ctx, userID)
	if err != nil {
		return fmt.Errorf("grants: %w", err)
	}
	apps, err := h.store.ListUserApps(ctx, userID, now)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	declines, err := h.store.ListClaimDeclines(ctx, userID)
	if err != nil {
		return fmt.Errorf("declines: %w", err)
	}
	disclosures, err := h.store.ListDisclosures(ctx, userID)
	if err != nil {
		return fmt.Errorf("disclosures: %w", err)
	}
	byClient := map[string]storage.UserApp{}
	for _, a := range apps {
		byClient[a.Client.ID] = a
	}
	declined := map[string][]string{}
	for _, d := range declines {
		declined[d.ClientID] = append(declined[d.ClientID], d.Claim)
	}
	for _, g := range grants {
		a := byClient[g.ClientID]
		e.Apps = append(e.Apps, exportApp{ClientID: g.ClientID, Name: a.Client.Name, Scopes: orEmpty(g.Scopes), Claims: orEmpty(g.Claims),
			DeclinedClaims: orEmpty(declined[g.ClientID]), GrantedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
			ActiveTokens: a.ActiveTokens, ActiveSessions: a.ActiveSessions, LastUsedAt: timePtr(a.LastUsedAt)})
	}
	for _, d := range disclosures {
		e.Disclosures = append(e.Disclosures, exportDisclose{ClientID: d.ClientID, Claims: orEmpty(d.Claims), FirstAt: d.FirstAt, LastAt: d.LastAt, Count: d.Count})
	}
	return nil
}

// writeExport writes e with u's activity log after it, newest event first, read and written
// one page at a time, so memory stays bounded however long the log is. An error after the
// first byte leaves the document unfinished (not valid JSON), which is how a reader sees it
// failed.
func (h *Handler) writeExport(ctx context.Context, w io.Writer, userID string, e export) error {
	head, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode export: %w", err)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	// head is an object: the log goes in as its last member.
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"activity_log":[`)
	var cursor *storage.EventCursor
	first := true
	for {
		page, err := h.store.ListEvents(ctx, userID, storage.EventFilter{Before: cursor, Limit: eventPage})
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		for _, ev := range page {
			b, err := json.Marshal(exportEvent{ID: ev.ID, Category: ev.Category, At: ev.At, ClientID: ev.ClientID,
				Device: ev.Device, Browser: ev.Browser, OS: ev.OS, IP: ev.IP, Details: detailsOrEmpty(ev.Details)})
			if err != nil {
				return fmt.Errorf("encode event: %w", err)
			}
			if !first {
				bw.WriteByte(',')
			}
			first = false
			bw.WriteByte('\n')
			if _, err := bw.Write(b); err != nil {
				return fmt.Errorf("write export: %w", err)
			}
		}
		if len(page) < eventPage {
			break
		}
		last := page[len(page)-1]
		cursor = &storage.EventCursor{At: last.At, ID: last.ID}
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

func detailsOrEmpty(d map[string]string) map[string]string {
	if d == nil {
		return map[string]string{}
	}
	return d
}

// Export writes u's whole export to w (prepare, then stream).
func (h *Handler) Export(ctx context.Context, w io.Writer, u storage.User) error {
	e, err := h.prepareExport(ctx, u)
	if err != nil {
		return err
	}
	return h.writeExport(ctx, w, u.ID, e)
}

// ExportSchema is the JSON Schema (draft 2020-12) of the export, export.schema.json: a test
// validates exports against it, so the two cannot drift apart.
//
//go:embed export.schema.json
var ExportSchema []byte
