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
	"strings"
	"testing"

	"github.com/facetid/facet/storage/storagetest"
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
	for _, be := range storagetest.Backends(t) {
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
