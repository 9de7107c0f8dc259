package profile

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/mux"
	"golang.org/x/sync/semaphore"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// tiffWithOrientation is an Exif TIFF body (big- or little-endian) holding Orientation o.
func tiffWithOrientation(o uint16, little bool) []byte {
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.BigEndian
	head := []byte("MM\x00\x2a")
	if little {
		bo, head = binary.LittleEndian, []byte("II\x2a\x00")
	}
	b := append([]byte{}, head...)
	b = bo.AppendUint32(b, 8)
	b = bo.AppendUint16(b, 2) // two entries: an unrelated tag first
	b = bo.AppendUint16(b, 0x010F)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint32(b, 4)
	b = append(b, 'A', 'c', 'm', 0)
	b = bo.AppendUint16(b, 0x0112)
	b = bo.AppendUint16(b, 3)
	b = bo.AppendUint32(b, 1)
	b = bo.AppendUint16(b, o)
	b = append(b, 0, 0)
	return bo.AppendUint32(b, 0)
}

// withExif inserts an APP1 Exif segment holding tiff right after a JPEG's SOI.
func withExif(jpg, tiff []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// halves is a w×h image, red on the left half and blue on the right.
func halves(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is a PNG of just a signature and an IHDR declaring w×h 8-bit RGBA (no pixel
// data).
func pngHeader(w, h uint32) []byte { return pngIHDR(w, h, 8, 6, 0) }

// pngIHDR is a PNG of just a signature and an IHDR: w×h, bit depth, colour type, interlace.
func pngIHDR(w, h uint32, depth, colorType, interlace byte) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	chunk := []byte("IHDR")
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, depth, colorType, 0, 0, interlace)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// webpSample is golang.org/x/image's testdata/gopher-doc.1bpp.lossless.webp.
const webpSample = "UklGRrIBAABXRUJQVlA4TKUBAAAvSsAYAA8w//M///MfeJAkbXvaSG7m8Q3GfYSBJekwQztm/IcZlgwnmWImn2BK7aFmBtnVir6q//8VOkFE/xm4baTIu8c48ArEo6+B3zFKYln3pqClSCKX0begFTAXFOLXHSyF8cCNcZEG4OywuA4KVVfJCiArU7GAgJI8+lJP/OKMT/fBAjevg1cYB7YVkFuWga2lyPi5I0HFy5YTpWIHg0RZpkniRVW9odHAKOwosWuOGdxIyn2OvaCDvhg/we6TwadPBPbqBV58MsLmMJ8yZnOWk8SRz4N+QoyPL+MnamzMvcE1rHNEr91F9GKZPVUcS9w7PhhH36suB9qPeYb/oLk6cuTiJ0wOK3m5h1cKjW6EVZCYMK7dxcKCBdgP9HkKr9gkAO2P8GKZGWVdIAatQa+1IDpt6qyorVwdy01xdW8Jkfk6xjEXmVQQ+HQdFr6OKhIN34dXWq0+0qr6EJSCeeVLH9+gvGTLyqM65PQ44ihzlTXxQKjKbAvshXgir7Lil9w4L2bvMycmjQcqXaMCO6BlY28i+FOLzbfI1vEqxAhotocAAA=="

func webpBytes(t testing.TB) []byte {
	b, err := base64.StdEncoding.DecodeString(webpSample)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeOut(t *testing.T, out []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r > 0xC000 && g < 0x4000 && b < 0x4000
}

func isBlue(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return b > 0xC000 && g < 0x4000 && r < 0x4000
}

func TestJPEGOrientation(t *testing.T) {
	jpg := encodeJPEG(t, halves(40, 20))
	if o := jpegOrientation(jpg); o != 1 {
		t.Errorf("no EXIF: %d", o)
	}
	for o := uint16(1); o <= 8; o++ {
		for _, little := range []bool{false, true} {
			if got := jpegOrientation(withExif(jpg, tiffWithOrientation(o, little))); got != int(o) {
				t.Errorf("orientation %d (little %v): got %d", o, little, got)
			}
		}
	}
	for name, b := range map[string][]byte{
		"out of range": withExif(jpg, tiffWithOrientation(9, false)),
		"truncated":    withExif(jpg, tiffWithOrientation(6, false))[:30],
		"not tiff":     withExif(jpg, []byte("XX\x00\x2a\x00\x00\x00\x08")),
		"png":          encodePNG(t, halves(2, 2)),
		"empty":        nil,
	} {
		if got := jpegOrientation(b); got != 1 {
			t.Errorf("%s: %d", name, got)
		}
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	jpg := encodeJPEG(f, halves(8, 4))
	f.Add(jpg)
	f.Add(withExif(jpg, tiffWithOrientation(6, false)))
	f.Add(withExif(jpg, tiffWithOrientation(8, true)))
	f.Add(withExif(jpg, tiffWithOrientation(3, true))[:40])
	f.Add([]byte("\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00MM\x00\x2a\xFF\xFF\xFF\xFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

// processPhoto is what decodePhoto does around the decode budget: check, then render.
func processPhoto(data []byte) ([]byte, string, error) {
	format, _, err := checkPhoto(data)
	if err != nil {
		return nil, "", err
	}
	return renderPhoto(data, format)
}

func TestProcessPhoto(t *testing.T) {
	// EXIF orientation 6: the stored photo is turned a quarter clockwise (the left half,
	// red, becomes the top) and carries no EXIF any more.
	in := withExif(encodeJPEG(t, halves(40, 20)), tiffWithOrientation(6, false))
	out, ct, err := processPhoto(in)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "image/jpeg" || bytes.Contains(out, []byte("Exif")) || jpegOrientation(out) != 1 {
		t.Fatalf("content type %s, EXIF left: %v", ct, bytes.Contains(out, []byte("Exif")))
	}
	img := decodeOut(t, out)
	if b := img.Bounds(); b.Dx() != 20 || b.Dy() != 40 {
		t.Fatalf("rotated size %v, want 20×40", b)
	}
	if !isRed(img.At(10, 5)) || !isBlue(img.At(10, 35)) {
		t.Fatalf("not rotated clockwise: top %v bottom %v", img.At(10, 5), img.At(10, 35))
	}

	// A large opaque PNG is scaled to fit 512 and stored as JPEG.
	out, ct, err = processPhoto(encodePNG(t, halves(1024, 768)))
	if err != nil || ct != "image/jpeg" {
		t.Fatalf("large png: %v %s", err, ct)
	}
	if b := decodeOut(t, out).Bounds(); b.Dx() != 512 || b.Dy() != 384 {
		t.Fatalf("scaled size %v", b)
	}

	// Transparency keeps PNG.
	alpha := halves(10, 10)
	alpha.SetNRGBA(0, 0, color.NRGBA{})
	if _, ct, err := processPhoto(encodePNG(t, alpha)); err != nil || ct != "image/png" {
		t.Fatalf("alpha png: %v %s", err, ct)
	}

	// WebP is accepted (and re-encoded).
	out, ct, err = processPhoto(webpBytes(t))
	if err != nil || (ct != "image/png" && ct != "image/jpeg") || sniffImage(out) == "webp" {
		t.Fatalf("webp: %v %s", err, ct)
	}

	var g bytes.Buffer
	if err := gif.Encode(&g, halves(4, 4), nil); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"gif":                      {g.Bytes(), errPhotoType},
		"svg":                      {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), errPhotoType},
		"text":                     {[]byte("hello"), errPhotoType},
		"20000×20000 header":       {pngHeader(20000, 20000), errPhotoDimensions},
		"8001×1 header":            {pngHeader(8001, 1), errPhotoDimensions},
		"7000×7000 header":         {pngHeader(7000, 7000), errPhotoDimensions},     // 49 MP > 16 MP
		"4001×4000 header":         {pngHeader(4001, 4000), errPhotoDimensions},     // just above 16 MP
		"16-bit 4000×4000 header":  {pngIHDR(4000, 4000, 16, 6, 0), errPhotoMemory}, // 128 MB decoded
		"interlaced 4000×4000":     {pngIHDR(4000, 4000, 8, 6, 1), errPhotoMemory},  // passes and image: 128 MB
		"truncated png":            {pngHeader(100, 100), errPhotoCorrupt},
		"png sniffed, jpeg inside": {append([]byte("\x89PNG\r\n\x1a\n"), encodeJPEG(t, halves(4, 4))...), errPhotoCorrupt},
	} {
		_, _, err := processPhoto(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// multipartPhoto is a multipart body with data as the "photo" part.
func multipartPhoto(t testing.TB, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("note", "x"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("photo", "me.jpg")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &body, mw.FormDataContentType()
}

func (b *browser) upload(method, path string, data []byte) response {
	b.e.t.Helper()
	body, ct := multipartPhoto(b.e.t, data)
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set(testIPHeader, b.ip)
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: string(out), Location: res.Header.Get("Location")}
}

// publicGet fetches a URL of the server without cookies.
func (e *env) publicGet(path string, header ...string) response {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: string(out)}
}

func TestPhotoUploadAndServe(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		a, ua := e.person("pia@example.com", "192.0.2.100")
		other, _ := e.person("rob@example.com", "192.0.2.101")
		if err := e.store.PutProfileFields(t.Context(), []storage.ProfileField{{UserID: ua.ID, Field: "picture", Value: "", Privacy: "public", UpdatedAt: e.clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "photo page", a.get("/profile/photo"), 200, `enctype="multipart/form-data"`, `accept="image/jpeg,image/png,image/webp"`)
		if strings.Contains(a.get("/profile/photo").Body, "/profile/photo/available") {
			t.Error("Available shown without a picture source")
		}

		res := a.upload(http.MethodPost, "/profile/photo", withExif(encodeJPEG(t, halves(40, 20)), tiffWithOrientation(6, true)))
		if res.Status != http.StatusSeeOther || res.Location != "/profile/photo?done=saved" {
			t.Fatalf("upload: %d %s\n%s", res.Status, res.Location, res.Body)
		}
		pic, privacy := e.field(ua.ID, "picture")
		id := photoID(pic)
		if id == "" || privacy != "public" {
			t.Fatalf("picture field %q %q", pic, privacy)
		}
		wantStatus(t, "page shows it", a.get("/profile/photo?done=saved"), 200, `src="`+pic+`"`, "Your photo was saved.")

		got := e.publicGet(pic)
		if got.Status != 200 || got.Header.Get("Content-Type") != "image/jpeg" || got.Header.Get("X-Content-Type-Options") != "nosniff" ||
			got.Header.Get("Cache-Control") != "public, no-cache" || got.Header.Get("ETag") != `"`+id+`"` {
			t.Fatalf("public photo: %d %v", got.Status, got.Header)
		}
		if bytes.Contains([]byte(got.Body), []byte("Exif")) {
			t.Error("served photo keeps EXIF")
		}
		if img := decodeOut(t, []byte(got.Body)); img.Bounds().Dx() != 20 {
			t.Errorf("served photo not rotated: %v", img.Bounds())
		}
		if r := e.publicGet(pic, "If-None-Match", `"`+id+`"`); r.Status != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", r.Status)
		}
		if r := e.publicGet(PhotoPathPrefix + "0123456789abcdef0123456789abcdef"); r.Status != 404 {
			t.Errorf("unknown id: %d", r.Status)
		}
		if r := e.publicGet(PhotoPathPrefix + "..%2f..%2fetc"); r.Status != 404 {
			t.Errorf("bad id: %d", r.Status)
		}

		// Another user cannot delete it.
		wantStatus(t, "other user's photo", other.post("/profile/photo/delete", url.Values{"id": {id}}), 404)
		if e.publicGet(pic).Status != 200 {
			t.Fatal("photo gone after another user's delete")
		}

		// A new upload replaces it; the old id is gone for good.
		wantStatus(t, "png", a.upload(http.MethodPost, "/profile/photo", encodePNG(t, halves(64, 64))), 303)
		pic2, _ := e.field(ua.ID, "picture")
		if pic2 == pic || e.publicGet(pic).Status != 404 || e.publicGet(pic2).Status != 200 {
			t.Fatalf("replace: %q → %q", pic, pic2)
		}
		wantStatus(t, "webp", a.upload(http.MethodPost, "/profile/photo", webpBytes(t)), 303)
		pic3, _ := e.field(ua.ID, "picture")

		// Refusals keep the current photo.
		wantStatus(t, "svg", a.upload(http.MethodPost, "/profile/photo", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)), 415, "JPEG, PNG or WebP")
		wantStatus(t, "text", a.upload(http.MethodPost, "/profile/photo", []byte("just text")), 415)
		wantStatus(t, "bomb", a.upload(http.MethodPost, "/profile/photo", pngHeader(20000, 20000)), 422, "too large")
		wantStatus(t, "empty", a.upload(http.MethodPost, "/profile/photo", nil), 422, "Choose a photo")
		if p, _ := e.field(ua.ID, "picture"); p != pic3 {
			t.Fatalf("refused upload changed the picture: %q", p)
		}

		// Delete.
		res = a.post("/profile/photo/delete", url.Values{"id": {photoID(pic3)}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("delete: %d\n%s", res.Status, res.Body)
		}
		if p, _ := e.field(ua.ID, "picture"); p != "" || e.publicGet(pic3).Status != 404 {
			t.Fatalf("after delete: %q", p)
		}
		wantStatus(t, "delete again", a.post("/profile/photo/delete", nil), 404)
	})
}

// countingReader yields n bytes (prefix, then zeros) and counts what was read.
type countingReader struct {
	prefix []byte
	n      int64
	read   atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	off := c.read.Load()
	if off >= c.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > c.n-off {
		k = c.n - off
	}
	for i := range k {
		if pos := off + i; pos < int64(len(c.prefix)) {
			p[i] = c.prefix[pos]
		} else {
			p[i] = 0
		}
	}
	c.read.Add(k)
	return int(k), nil
}

func TestPhotoTooLarge(t *testing.T) {
	e := newContactEnv(t, sqltest.Backend{Name: "sqlite"}, nil)
	b, _ := e.person("sam@example.com", "192.0.2.110")
	r := mux.NewRouter()
	e.h.Routes(r)
	u, _ := url.Parse(e.srv.URL)
	const size = 6 << 20
	prefix := []byte("--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xFF\xD8\xFF")
	for _, tc := range []struct {
		name     string
		declared bool
		path     string
		method   string
	}{
		{"declared length, page", true, "/profile/photo", http.MethodPost},
		{"streamed, page", false, "/profile/photo", http.MethodPost},
		{"declared length, API", true, "/api/account/photo", http.MethodPut},
		{"streamed, API", false, "/api/account/photo", http.MethodPut},
	} {
		body := &countingReader{prefix: prefix, n: size}
		req := httptest.NewRequestWithContext(t.Context(), tc.method, tc.path, body)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		req.ContentLength = -1
		if tc.declared {
			req.ContentLength = size
		}
		for _, c := range b.client.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: status %d\n%s", tc.name, rec.Code, rec.Body)
		}
		read := body.read.Load()
		switch {
		case tc.declared && read != 0:
			t.Errorf("%s: read %d bytes of a body declared too large", tc.name, read)
		case !tc.declared && read > defaultMaxPhotoBytes+multipartOverhead+64<<10:
			t.Errorf("%s: read %d bytes, more than the limit", tc.name, read)
		}
	}
}

type pictureList []AvailablePicture

func (p pictureList) AvailablePictures(context.Context, string) ([]AvailablePicture, error) {
	return p, nil
}

func TestPhotoAvailable(t *testing.T) {
	e := newContactEnv(t, sqltest.Backend{Name: "sqlite"}, nil)
	b, u := e.person("tia@example.com", "192.0.2.120")
	var hits atomic.Int32
	png64 := encodePNG(t, halves(64, 64))
	remote := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(png64)
	}))
	defer remote.Close()
	e.h.PictureClient = remote.Client()
	offered := remote.URL + "/avatar.png"
	e.h.Pictures = pictureList{{URL: offered, Source: "GitHub"}}

	wantStatus(t, "page", b.get("/profile/photo"), 200, `action="/profile/photo/available"`, "Use the photo from GitHub")
	wantStatus(t, "not offered", b.post("/profile/photo/available", url.Values{"url": {remote.URL + "/other.png"}}), 404)
	if hits.Load() != 0 {
		t.Fatal("fetched a URL that was not offered")
	}
	res := b.post("/profile/photo/available", url.Values{"url": {offered}})
	if res.Status != http.StatusSeeOther || hits.Load() != 1 {
		t.Fatalf("available: %d hits %d\n%s", res.Status, hits.Load(), res.Body)
	}
	if p, _ := e.field(u.ID, "picture"); photoID(p) == "" {
		t.Fatalf("picture %q", p)
	}
	// The default client refuses addresses that are not public.
	e.h.PictureClient = nil
	wantStatus(t, "loopback refused", b.post("/profile/photo/available", url.Values{"url": {offered}}), 422, "could not be fetched")
}

func TestPhotoAPI(t *testing.T) {
	eachContactBackend(t, func(t *testing.T, e *cEnv) {
		b, u := e.person("uma@example.com", "192.0.2.130")
		res := b.upload(http.MethodPut, "/api/account/photo", encodePNG(t, halves(32, 32)))
		wantStatus(t, "put", res, 200, `"picture":"/public/images/profile/`)
		var body struct{ Picture string }
		if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.field(u.ID, "picture"); p != body.Picture {
			t.Fatalf("field %q, answer %q", p, body.Picture)
		}
		wantStatus(t, "text", b.upload(http.MethodPut, "/api/account/photo", []byte("text")), 415, `"error":"unsupported_media_type"`)
		wantStatus(t, "bomb", b.upload(http.MethodPut, "/api/account/photo", pngHeader(20000, 20000)), 422, `"fields":{"photo":`)
		wantStatus(t, "not multipart", b.callJSON(http.MethodPut, "/api/account/photo", `{"photo":"x"}`), 415)
		wantStatus(t, "delete", b.callJSON(http.MethodDelete, "/api/account/photo", ""), 204)
		wantStatus(t, "delete again", b.callJSON(http.MethodDelete, "/api/account/photo", ""), 404)
		anon := e.browser("192.0.2.131")
		wantStatus(t, "anonymous", anon.upload(http.MethodPut, "/api/account/photo", encodePNG(t, halves(4, 4))), 401)
	})
}

// TestPhotoDecodesBounded: the photos decoded at once hold at most PhotoDecodeMemory between
// them, each its photoCost; a request that finds too little left waits, and gives up with its
// context.
func TestPhotoDecodesBounded(t *testing.T) {
	h := &Handler{decodes: semaphore.NewWeighted(PhotoDecodeMemory())}
	in := encodePNG(t, halves(64, 32))
	if err := h.decodes.Acquire(t.Context(), PhotoDecodeMemory()-1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := h.decodePhoto(ctx, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("budget taken, cancelled: %v, want context.Canceled", err)
	}
	// A waiting decode goes on once the budget is released.
	done := make(chan error, 1)
	go func() {
		_, _, err := h.decodePhoto(t.Context(), in)
		done <- err
	}()
	h.decodes.Release(PhotoDecodeMemory() - 1)
	if err := <-done; err != nil {
		t.Fatalf("after the budget was released: %v", err)
	}
	if !h.decodes.TryAcquire(PhotoDecodeMemory()) {
		t.Fatal("part of the budget is still held")
	}
	h.decodes.Release(PhotoDecodeMemory())

	// Many concurrent decodes all finish and give their share back.
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, _, err := h.decodePhoto(t.Context(), in)
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if !h.decodes.TryAcquire(PhotoDecodeMemory()) {
		t.Fatal("part of the budget is still held")
	}
}

// TestPhotoDecodeHoldsMemory: a decode tells HoldMemory its cost before it starts and
// releases it when done, so the server's soft memory limit makes room for it only meanwhile.
func TestPhotoDecodeHoldsMemory(t *testing.T) {
	var held, calls atomic.Int64
	h := &Handler{decodes: semaphore.NewWeighted(PhotoDecodeMemory()), cfg: Config{
		HoldMemory: func(n int64) func() {
			calls.Add(1)
			held.Add(n)
			return func() { held.Add(-n) }
		},
	}}
	in := encodePNG(t, halves(64, 32))
	_, cost, err := checkPhoto(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.decodePhoto(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || held.Load() != 0 {
		t.Fatalf("after one decode of cost %d: %d holds, %d bytes still held; want 1 and 0", cost, calls.Load(), held.Load())
	}
	// A photo refused before decoding holds nothing.
	if _, _, err := h.decodePhoto(t.Context(), []byte("not an image")); err == nil {
		t.Fatal("garbage decoded")
	}
	if calls.Load() != 1 {
		t.Fatalf("a refused photo held memory: %d holds", calls.Load())
	}
}
