package card

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
	"github.com/gorilla/mux"
)

// QR code geometry: the quiet zone of 4 modules ISO/IEC 18004 §7.3.8 asks for, and the PNG's
// pixels per module.
const (
	quietZone   = 4
	pngModulePx = 8
)

// qrModules encodes text as a QR code (error correction M, byte mode for the URL) and
// returns its module matrix: true is dark.
func qrModules(text string) ([][]bool, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("encode QR code: %w", err)
	}
	b := code.Bounds()
	m := make([][]bool, b.Dy())
	for y := range m {
		m[y] = make([]bool, b.Dx())
		for x := range m[y] {
			r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA()
			m[y][x] = r < 0x8000
		}
	}
	return m, nil
}

// qrPNG draws the modules black on white with the quiet zone.
func qrPNG(m [][]bool) ([]byte, error) {
	n := len(m) + 2*quietZone
	img := image.NewPaletted(image.Rect(0, 0, n*pngModulePx, n*pngModulePx), color.Palette{color.White, color.Black})
	for y, row := range m {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range pngModulePx {
				for dx := range pngModulePx {
					img.SetColorIndex((x+quietZone)*pngModulePx+dx, (y+quietZone)*pngModulePx+dy, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// qrSVG draws the modules as one path, one unit per module, with the quiet zone; the
// document holds only numbers, so nothing a user typed reaches it.
func qrSVG(m [][]bool) []byte {
	n := len(m) + 2*quietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range m {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+quietZone, y+quietZone, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

// cardQR is GET /api/cards/{identifier}/qr.png and qr.svg: a QR code of the card's URL,
// for as long as the card answers.
func (h *Handler) cardQR(w http.ResponseWriter, r *http.Request) {
	s, ok := h.requestedCard(w, r)
	if !ok {
		return
	}
	u := h.URL(s.Card)
	m, err := qrModules(u)
	if err != nil {
		h.kit.ServerError(w, r, "QR code", err)
		return
	}
	var body []byte
	var ctype string
	switch mux.Vars(r)["format"] {
	case "png":
		ctype = "image/png"
		if body, err = qrPNG(m); err != nil {
			h.kit.ServerError(w, r, "QR code", err)
			return
		}
	default:
		ctype = "image/svg+xml"
		body = qrSVG(m)
	}
	tag := etag("qr:"+ctype, contact{Sub: u})
	hd := w.Header()
	hd.Set("ETag", tag)
	hd.Set("Cache-Control", "public, no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	if inm := r.Header.Get("If-None-Match"); inm == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
