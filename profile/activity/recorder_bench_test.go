package activity

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/profile/profiletest"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// BenchmarkRecord measures one Record: UA parsing, the address, the INSERT.
func BenchmarkRecord(b *testing.B) {
	for _, backend := range sqltest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			e := profiletest.New(b, backend, nil, recorder, nil)
			rec := NewRecorder(e.Store, nil, time.Now)
			now := time.Now()
			u := storage.User{ID: profile.NewID(), Email: "bench@example.com", Status: storage.UserActive, CreatedAt: now, UpdatedAt: now}
			if err := e.Store.CreateUser(b.Context(), u); err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/login", nil)
			r.RemoteAddr = "198.51.100.7:50000"
			r.Header.Set("User-Agent", chromeUA)
			ev := profile.Event{Category: profile.CategoryLogin, Details: map[string]string{"method": "password"}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec.Record(b.Context(), e.Core.Origin(r), u.ID, ev)
			}
		})
	}
}

// BenchmarkNewEvent is Record without the database: what recording adds on the CPU.
func BenchmarkNewEvent(b *testing.B) {
	core := profiletest.New(b, sqltest.Backends(b)[0], nil, recorder, nil).Core
	rec := NewRecorder(nil, nil, time.Now)
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.RemoteAddr = "198.51.100.7:50000"
	r.Header.Set("User-Agent", chromeUA)
	e := profile.Event{Category: profile.CategoryLogin, Details: map[string]string{"method": "password"}}
	b.ReportAllocs()
	for b.Loop() {
		rec.newEvent(core.Origin(r), "user", e)
	}
}
