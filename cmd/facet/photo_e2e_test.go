package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/storage/sqltest"
)

// noisePNG is a side×side PNG of pseudo-random opaque pixels: noise does not compress, so
// the file is about 4·side² bytes while its decode stays small.
func noisePNG(t testing.TB, side int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
		if i%4 == 3 {
			img.Pix[i] = 0xFF
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadPhoto sends data as the multipart part "photo" with the agent's session.
func uploadPhoto(t testing.TB, b *agent, method, path string, data []byte) page {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("photo", "me.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, b.base+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

// TestPhotoUploadBodyLimit: the server-wide 1 MiB body limit does not cut photo uploads,
// which get max_photo_bytes (5 MiB by default) plus the multipart framing; beyond that the
// upload gets the readable 413, and other routes keep 1 MiB.
func TestPhotoUploadBodyLimit(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "big.photo@example.com", "Big Photo")
			photo := noisePNG(t, 640)
			if len(photo) < 1_100_000 || len(photo) > 5<<20 {
				t.Fatalf("test photo is %d bytes, want 1.1 MB to 5 MiB", len(photo))
			}
			p := uploadPhoto(t, s.b, http.MethodPost, "/profile/photo", photo)
			if p.status != http.StatusOK || p.url.Path != "/profile/photo" || !strings.Contains(p.body, "Your photo was saved.") {
				t.Fatalf("page upload of %d bytes: %d at %s\n%s", len(photo), p.status, p.url, p.body)
			}
			p = uploadPhoto(t, s.b, http.MethodPut, "/api/account/photo", photo)
			var put struct{ Picture string }
			if err := json.Unmarshal([]byte(p.body), &put); p.status != http.StatusOK || err != nil || put.Picture == "" {
				t.Fatalf("API upload of %d bytes: %d %s", len(photo), p.status, p.body)
			}

			big := append(bytes.Clone(photo), make([]byte, 5<<20)...)
			p = uploadPhoto(t, s.b, http.MethodPost, "/profile/photo", big)
			if p.status != http.StatusRequestEntityTooLarge || !strings.Contains(p.body, "Upload at most 5 MB") {
				t.Fatalf("page upload of %d bytes: %d\n%s", len(big), p.status, p.body)
			}
			p = uploadPhoto(t, s.b, http.MethodPut, "/api/account/photo", big)
			if p.status != http.StatusRequestEntityTooLarge || !strings.Contains(p.body, `"error":"request_too_large"`) {
				t.Fatalf("API upload of %d bytes: %d %s", len(big), p.status, p.body)
			}

			// Any other route keeps the 1 MiB limit: a 1.1 MB form is refused.
			req, err := http.NewRequest(http.MethodPost, s.b.base+"/profile/photo/delete", io.MultiReader(strings.NewReader("id="), bytes.NewReader(bytes.Repeat([]byte("a"), 1_100_000))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.b.base)
			if p := s.b.do(req); p.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("1.1 MB form to another route: %d", p.status)
			}
		})
	}
}

// getPhoto fetches path from f without cookies, with the given request headers.
func getPhoto(t testing.TB, f *facet, path string, header ...string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.issuer+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	return resp.StatusCode, resp.Header
}

// TestPhotoPrivacy: a photo is served only to those its picture's current level allows, and
// no answer may be reused from a cache without asking again: anonymous callers only while
// it is public, the owner always, an app with an access token whose grant covers picture
// while it is on request; after the owner makes it private, an anonymous request for the
// same URL is 404.
func TestPhotoPrivacy(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "private.photo@example.com", "Private Photo")
			p := uploadPhoto(t, s.b, http.MethodPut, "/api/account/photo", noisePNG(t, 32))
			var put struct{ Picture string }
			if err := json.Unmarshal([]byte(p.body), &put); p.status != http.StatusOK || err != nil || put.Picture == "" {
				t.Fatalf("upload: %d %s", p.status, p.body)
			}
			pic := put.Picture
			owner := func(want int) {
				t.Helper()
				p := s.b.get(pic)
				if p.status != want {
					t.Fatalf("owner GET %s: %d, want %d", pic, p.status, want)
				}
				if want == http.StatusOK && (p.header.Get("Cache-Control") != "private, no-cache" || p.header.Get("Content-Type") != "image/jpeg") {
					t.Errorf("owner's answer: %v", p.header)
				}
			}
			// anonymous sends no cookie; header may carry an app's access token.
			anonymous := func(want int, header ...string) {
				t.Helper()
				status, h := getPhoto(t, s.f, pic, header...)
				if status != want {
					t.Fatalf("anonymous GET %s %v: %d, want %d", pic, header, status, want)
				}
				cc := "public, no-cache"
				if len(header) > 0 && header[0] == "Authorization" {
					cc = "private, no-cache" // served to one app, not to everyone
				}
				if want == http.StatusOK && h.Get("Cache-Control") != cc {
					t.Errorf("Cache-Control %q, want %q", h.Get("Cache-Control"), cc)
				}
				if want == http.StatusNotFound && h.Get("Cache-Control") != "no-store" {
					t.Errorf("404's Cache-Control %q", h.Get("Cache-Control"))
				}
			}

			// On request (the picture's default): the owner sees it, nobody else.
			owner(http.StatusOK)
			anonymous(http.StatusNotFound)
			anonymous(http.StatusNotFound, "Authorization", "Bearer "+s.tok.AccessToken) // the grant lacks picture

			// The app asks again; the consent page offers the picture and the user allows it.
			ar := s.r.start()
			tok := exchange(t, s.r, ar, approve(t, s.b, s.b.get(ar.url), ar, s.f.issuer))
			anonymous(http.StatusOK, "Authorization", "Bearer "+tok.AccessToken)
			anonymous(http.StatusNotFound, "Authorization", "Bearer not-a-token")

			// Public: anyone, and a conditional request is answered 304.
			if got := apiPut(t, s.b, "/api/account/privacy/picture", `{"level":"public"}`); got != http.StatusOK {
				t.Fatalf("make public: %d", got)
			}
			anonymous(http.StatusOK)
			_, h := getPhoto(t, s.f, pic)
			if status, _ := getPhoto(t, s.f, pic, "If-None-Match", h.Get("ETag")); status != http.StatusNotModified {
				t.Errorf("If-None-Match on a public photo: %d", status)
			}

			// Private: the same URL is 404 to anyone but the owner, revalidation included.
			if got := apiPut(t, s.b, "/api/account/privacy/picture", `{"level":"private"}`); got != http.StatusOK {
				t.Fatalf("make private: %d", got)
			}
			anonymous(http.StatusNotFound)
			anonymous(http.StatusNotFound, "If-None-Match", h.Get("ETag"))
			anonymous(http.StatusNotFound, "Authorization", "Bearer "+tok.AccessToken)
			owner(http.StatusOK)

			// Public again, then the private profile: public fields become on request.
			if got := apiPut(t, s.b, "/api/account/privacy/picture", `{"level":"public"}`); got != http.StatusOK {
				t.Fatalf("make public: %d", got)
			}
			anonymous(http.StatusOK)
			if got := apiPut(t, s.b, "/api/account/private-profile", `{"enabled":true}`); got != http.StatusOK {
				t.Fatalf("private profile: %d", got)
			}
			anonymous(http.StatusNotFound)
			owner(http.StatusOK)
		})
	}
}

// TestPhotoUploadThrottle: one account may submit photoUploadsPerHour (10) photos an hour,
// counted in the database, so uploads spread over two nodes share the limit; the next is
// 429 with Retry-After, and the next hour allows uploads again.
func TestPhotoUploadThrottle(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			c := newClock()
			f := startFacet(t, be.NewURL(t), c)
			r := newRP(t, f)
			b := newAgent(t, f.issuer)
			signUp(t, b, r, r.start(), "many.photos@example.com", "correct horse battery", "Many Photos")
			other := startFacet(t, f.dbURL, c)
			// The same browser (one cookie jar, one session) talking to the second node.
			b2 := &agent{t: t, client: b.client, base: other.issuer}
			photo := noisePNG(t, 16)
			for i := range 10 {
				node := b
				if i%2 == 1 {
					node = b2
				}
				if p := uploadPhoto(t, node, http.MethodPut, "/api/account/photo", photo); p.status != http.StatusOK {
					t.Fatalf("upload %d: %d %s", i+1, p.status, p.body)
				}
			}
			p := uploadPhoto(t, b2, http.MethodPut, "/api/account/photo", photo)
			if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, `"error":"too_many_requests"`) || p.header.Get("Retry-After") == "" {
				t.Fatalf("11th upload: %d %v %s", p.status, p.header, p.body)
			}
			p = uploadPhoto(t, b, http.MethodPost, "/profile/photo", photo)
			if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many photos were uploaded in the last hour") {
				t.Fatalf("12th upload, page: %d\n%s", p.status, p.body)
			}
			c.advance(time.Hour)
			if p := uploadPhoto(t, b, http.MethodPut, "/api/account/photo", photo); p.status != http.StatusOK {
				t.Fatalf("upload an hour later: %d %s", p.status, p.body)
			}
		})
	}
}

// hostileJPEG is a valid progressive JPEG of w×h pixels in 4:4:4 whose only scan gives every
// block a zero DC difference (one bit a block): 8000×5000 pixels in 234 KB, which Go's
// decoder would expand to ≈ 570 MiB of pixels and coefficients.
func hostileJPEG(w, h int) []byte {
	seg := func(marker byte, payload ...byte) []byte {
		n := len(payload) + 2
		return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
	}
	b := []byte{0xFF, 0xD8}
	b = append(b, seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)...)
	b = append(b, seg(0xC2, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0)...)
	b = append(b, seg(0xC4, append(append([]byte{0x00, 1}, make([]byte, 15)...), 0)...)...)
	b = append(b, seg(0xDA, 3, 1, 0, 2, 0, 3, 0, 0, 0, 0)...)
	blocks := 3 * ((w + 7) / 8) * ((h + 7) / 8)
	b = append(b, make([]byte, (blocks+7)/8+2)...)
	return append(b, 0xFF, 0xD9)
}

// TestPhotoHostileUpload: the small progressive JPEG declaring 8000×5000 pixels, and one of
// 4000×4000 (within the pixel limit, beyond the decode budget), uploaded through the router
// are refused with 422 from their headers; the server allocates a few MiB for the requests,
// not the hundreds of MiB a decode would take.
func TestPhotoHostileUpload(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := signUpAndExchange(t, be, "hostile.photo@example.com", "Hostile Photo")
			for _, c := range []struct {
				w, h int
				want string
			}{
				{8000, 5000, "The image is too large. Use at most 16 megapixels"},
				{4000, 4000, "The image is too large to process."},
			} {
				data := hostileJPEG(c.w, c.h)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p := uploadPhoto(t, s.b, http.MethodPost, "/profile/photo", data)
				api := uploadPhoto(t, s.b, http.MethodPut, "/api/account/photo", data)
				runtime.ReadMemStats(&after)
				if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, c.want) {
					t.Fatalf("%d×%d page upload: %d\n%s", c.w, c.h, p.status, p.body)
				}
				if api.status != http.StatusUnprocessableEntity || !strings.Contains(api.body, `"error":"validation_failed"`) {
					t.Fatalf("%d×%d API upload: %d %s", c.w, c.h, api.status, api.body)
				}
				n := after.TotalAlloc - before.TotalAlloc
				if n > 32<<20 {
					t.Errorf("%d×%d: the two refused uploads allocated %d bytes", c.w, c.h, n)
				}
				t.Logf("%d×%d (%d bytes): two uploads refused, %.1f MiB allocated in the test process (client and server)", c.w, c.h, len(data), float64(n)/(1<<20))
			}
		})
	}
}

// TestPhotoOutage: with the database gone, a photo URL answers 503, for anyone and for an
// app's token alike, never the 404 of a photo that does not exist or may not be seen.
func TestPhotoOutage(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			db := newOutageDB(t, be)
			f := startFacet(t, db.url, newClock())
			r := newRP(t, f)
			b := newAgent(t, f.issuer)
			ar := r.start()
			tok := exchange(t, r, ar, signUp(t, b, r, ar, "photo.outage@example.com", "correct horse battery", "Photo Outage"))
			p := uploadPhoto(t, b, http.MethodPut, "/api/account/photo", noisePNG(t, 16))
			var put struct{ Picture string }
			if err := json.Unmarshal([]byte(p.body), &put); p.status != http.StatusOK || err != nil {
				t.Fatalf("upload: %d %s", p.status, p.body)
			}
			db.stop(t, f.app)
			for _, header := range [][]string{nil, {"Authorization", "Bearer " + tok.AccessToken}} {
				if status, _ := getPhoto(t, f, put.Picture, header...); status != http.StatusServiceUnavailable {
					t.Errorf("GET %s %v with the database stopped: %d, want 503", put.Picture, header, status)
				}
			}
		})
	}
}
