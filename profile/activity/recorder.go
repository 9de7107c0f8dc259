// Package activity owns the activity log: the recorder every module records its
// security-relevant actions with, the Event Log tab and GET /api/account/events, and the
// retention that deletes old events. What an event's category means for the user is the
// category's message in templates; which actions record one is the recording module's
// business.
package activity

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
)

// EventWriter is the part of storage.EventStore the recorder uses.
type EventWriter interface {
	AddEvent(ctx context.Context, e storage.Event) error
}

// Recorder writes events to the activity log (profile.Recorder). It holds no request state and
// is safe for concurrent use.
type Recorder struct {
	store  EventWriter
	logger *slog.Logger
	now    func() time.Time
}

var _ profile.Recorder = (*Recorder)(nil)

// NewRecorder returns a recorder writing to store; a nil logger discards, a nil now is
// time.Now.
func NewRecorder(store EventWriter, logger *slog.Logger, now func() time.Time) *Recorder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Recorder{store: store, logger: logger, now: now}
}

// Bounds on what one event stores, so a caller's mistake cannot bloat the log.
const (
	maxEventCategory = 64
	maxEventClientID = 255
	maxEventDetails  = 16
	maxDetailKey     = 64
	maxDetailValue   = 256
	maxOriginPart    = 64
	// recordTimeout bounds the INSERT; it is detached from the request's cancellation so a
	// client hanging up right after logging in does not erase the trace of that login.
	recordTimeout = 5 * time.Second
)

// Record adds an event to userID's activity log: one INSERT, nothing else. It never fails the
// caller: a write error is logged (error level) and the action goes on. o gives the device and
// the IP address. When ctx carries a transaction, the event commits or rolls back with it.
func (r *Recorder) Record(ctx context.Context, o profile.Origin, userID string, e profile.Event) {
	ev := r.newEvent(o, userID, e)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := r.store.AddEvent(ctx, ev); err != nil {
		r.logger.ErrorContext(ctx, "record event", "category", ev.Category, "user_id", userID, "err", err)
	}
}

// newEvent builds the stored event: a random id, the time in UTC, the origin, with every
// caller-supplied string bounded.
func (r *Recorder) newEvent(o profile.Origin, userID string, e profile.Event) storage.Event {
	ev := storage.Event{
		ID:       profile.NewID(),
		UserID:   userID,
		Category: profile.TruncateUTF8(e.Category, maxEventCategory),
		At:       r.now().UTC(),
		ClientID: profile.TruncateUTF8(e.ClientID, maxEventClientID),
		Details:  cleanDetails(e.Details),
		Device:   profile.TruncateUTF8(o.Device, maxOriginPart),
		Browser:  profile.TruncateUTF8(o.Browser, maxOriginPart),
		OS:       profile.TruncateUTF8(o.OS, maxOriginPart),
		IP:       profile.TruncateUTF8(o.IP, maxOriginPart),
	}
	return ev
}

// secretDetail reports whether a detail key names something that must never be stored.
// Callers are told not to pass secrets; this catches the obvious slips.
func secretDetail(key string) bool {
	k := strings.ToLower(key)
	return k == "code" || strings.Contains(k, "password") || strings.Contains(k, "token") ||
		strings.Contains(k, "secret") || (strings.HasSuffix(k, "_code") && k != "country_code")
}

// cleanDetails bounds the details map and drops keys that name secrets.
func cleanDetails(d map[string]string) map[string]string {
	if len(d) == 0 {
		return nil
	}
	out := make(map[string]string, min(len(d), maxEventDetails))
	for k, v := range d {
		if len(out) == maxEventDetails {
			break
		}
		if k == "" || secretDetail(k) {
			continue
		}
		out[profile.TruncateUTF8(k, maxDetailKey)] = profile.TruncateUTF8(v, maxDetailValue)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
