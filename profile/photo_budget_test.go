package profile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"testing"
)

// craftedJPEG describes a JPEG craftJPEG writes: every block has a zero DC difference and no
// AC coefficient (a flat grey image), so the entropy-coded data is one or two bits a block
// and a frame of any size costs a few hundred KB at most — the shape of the hostile upload.
type craftedJPEG struct {
	w, h        int
	progressive bool // SOF2 with a single DC scan (the other scans may be missing)
	comps       []jpegComponent
	jfif        bool
	adobe       int // the APP14 transform byte, or -1 for no Adobe segment
}

func ycc(h0, v0 int) []jpegComponent {
	return []jpegComponent{{1, h0, v0}, {2, 1, 1}, {3, 1, 1}}
}

func segment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(payload)+2))
	return append(b, payload...)
}

func craftJPEG(c craftedJPEG) []byte {
	b := []byte{0xFF, 0xD8}
	if c.jfif {
		b = append(b, segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))...)
	}
	if c.adobe >= 0 {
		b = append(b, segment(0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, byte(c.adobe)})...)
	}
	b = append(b, segment(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))...)
	sof := []byte{8, byte(c.h >> 8), byte(c.h), byte(c.w >> 8), byte(c.w), byte(len(c.comps))}
	for _, cp := range c.comps {
		sof = append(sof, cp.id, byte(cp.h<<4|cp.v), 0)
	}
	marker := byte(0xC0)
	if c.progressive {
		marker = 0xC2
	}
	b = append(b, segment(marker, sof)...)
	// One code of length 1 in each table: DC category 0, and AC end-of-block.
	table := append([]byte{1}, make([]byte, 15)...)
	b = append(b, segment(0xC4, append(append([]byte{0x00}, table...), 0))...)
	b = append(b, segment(0xC4, append(append([]byte{0x10}, table...), 0))...)
	sos := []byte{byte(len(c.comps))}
	for _, cp := range c.comps {
		sos = append(sos, cp.id, 0x00)
	}
	if c.progressive {
		sos = append(sos, 0, 0, 0) // DC first scan
	} else {
		sos = append(sos, 0, 63, 0)
	}
	b = append(b, segment(0xDA, sos)...)
	hmax, vmax, perMCU := 1, 1, 0
	for _, cp := range c.comps {
		hmax, vmax = max(hmax, cp.h), max(vmax, cp.v)
		perMCU += cp.h * cp.v
	}
	if len(c.comps) == 1 {
		hmax, vmax, perMCU = 1, 1, 1
	}
	blocks := ((c.w + 8*hmax - 1) / (8 * hmax)) * ((c.h + 8*vmax - 1) / (8 * vmax)) * perMCU
	bits := blocks
	if !c.progressive {
		bits *= 2
	}
	b = append(b, make([]byte, (bits+7)/8+2)...)
	return append(b, 0xFF, 0xD9)
}

// allocated is what f allocates, in bytes (runtime.MemStats.TotalAlloc across the call): an
// upper bound of how far f makes the heap grow, freed garbage included.
func allocated(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// TestPhotoHostileJPEG: a small JPEG declaring a huge progressive frame is refused from its
// header, before anything is decoded: 8000×5000 (the 234 KB file that decoded to ≈ 570 MiB)
// by the pixel limit, and a 16-megapixel progressive 4:4:4 frame, within that limit, by the
// memory budget. Neither allocates more than a fraction of a MiB.
func TestPhotoHostileJPEG(t *testing.T) {
	for name, c := range map[string]struct {
		in   craftedJPEG
		want error
	}{
		"8000×5000 progressive 4:4:4": {craftedJPEG{w: 8000, h: 5000, progressive: true, comps: ycc(1, 1), adobe: -1}, errPhotoDimensions},
		"4000×4000 progressive 4:4:4": {craftedJPEG{w: 4000, h: 4000, progressive: true, comps: ycc(1, 1), adobe: -1}, errPhotoMemory},
		"4000×4000 progressive 4:2:0": {craftedJPEG{w: 4000, h: 4000, progressive: true, comps: ycc(2, 2), adobe: -1}, errPhotoMemory},
	} {
		data := craftJPEG(c.in)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: the crafted file does not parse: %v", name, err)
		}
		cost := photoCost(data, "jpeg", cfg)
		var perr error
		n := allocated(func() { _, _, perr = processPhoto(data) })
		if !errors.Is(perr, c.want) {
			t.Errorf("%s: %v, want %v", name, perr, c.want)
		}
		if n > 1<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", name, n)
		}
		t.Logf("%s: %d-byte file, estimated cost %.0f MiB, refused after allocating %d KiB", name, len(data), float64(cost)/(1<<20), n>>10)
	}
}

// TestPhotoCostBounds: for every kind of image the decoders handle differently, what
// processPhoto allocates (TotalAlloc, so its peak heap growth is at most that) stays within
// photoCost, and photoCost within photoDecodeBudget for the images accepted.
func TestPhotoCostBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes several megapixel images")
	}
	flat := func(w, h int, alpha uint8) []byte {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 200, 100, 50, alpha
		}
		var b bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	gray16 := func(w, h int) []byte {
		img := image.NewGray16(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = byte(i)
		}
		var b bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"baseline 4:2:0 4032×3024 (a phone photo)", craftJPEG(craftedJPEG{w: 4032, h: 3024, comps: ycc(2, 2), adobe: -1})},
		{"baseline 4:4:4 2000×1500", craftJPEG(craftedJPEG{w: 2000, h: 1500, comps: ycc(1, 1), jfif: true, adobe: -1})},
		{"baseline RGB 1500×1500", craftJPEG(craftedJPEG{w: 1500, h: 1500, comps: []jpegComponent{{'R', 1, 1}, {'G', 1, 1}, {'B', 1, 1}}, adobe: -1})},
		{"baseline YCCK 1500×1500", craftJPEG(craftedJPEG{w: 1500, h: 1500, comps: append(ycc(1, 1), jpegComponent{4, 1, 1}), adobe: 2})},
		{"baseline grey 2000×1500", craftJPEG(craftedJPEG{w: 2000, h: 1500, comps: []jpegComponent{{1, 2, 2}}, adobe: -1})},
		{"progressive 4:2:0 2000×1500", craftJPEG(craftedJPEG{w: 2000, h: 1500, progressive: true, comps: ycc(2, 2), jfif: true, adobe: -1})},
		{"progressive 4:4:4 2200×2200 (near the budget)", craftJPEG(craftedJPEG{w: 2200, h: 2200, progressive: true, comps: ycc(1, 1), adobe: -1})},
		{"PNG RGBA 2000×1500", flat(2000, 1500, 0xFF)},
		{"PNG NRGBA with alpha 1500×1000", flat(1500, 1000, 0x80)},
		{"PNG 16-bit grey 1000×1000", gray16(1000, 1000)},
		{"WebP lossless", webpBytes(t)},
	}
	for _, c := range cases {
		format, cost, err := checkPhoto(c.data)
		if err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
			continue
		}
		var perr error
		n := allocated(func() { _, _, perr = renderPhoto(c.data, format) })
		if perr != nil {
			t.Errorf("%s: %v", c.name, perr)
		}
		if n > cost {
			t.Errorf("%s: allocated %d bytes, above its estimated cost %d", c.name, n, cost)
		}
		t.Logf("%s: allocated %.1f MiB, estimated %.1f MiB (budget %d MiB)", c.name, float64(n)/(1<<20), float64(cost)/(1<<20), photoDecodeBudget>>20)
	}
}

// TestReadJPEGFrame: the header walk finds the frame as image/jpeg reads it, and gives up
// (so the worst case is assumed) on anything it does not follow.
func TestReadJPEGFrame(t *testing.T) {
	data := craftJPEG(craftedJPEG{w: 640, h: 480, progressive: true, comps: ycc(2, 1), jfif: true, adobe: 0})
	f, ok := readJPEGFrame(data)
	if !ok || !f.progressive || f.width != 640 || f.height != 480 || len(f.comps) != 3 || f.comps[0].h != 2 || f.comps[0].v != 1 ||
		!f.jfif || !f.adobeRGB || f.lateAdobe || f.mayBeRGB() {
		t.Fatalf("frame %+v, %v", f, ok)
	}
	late := append(bytes.Clone(data[:len(data)-2]), 0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0, 0xFF, 0xD9)
	if f, ok := readJPEGFrame(late); !ok || !f.lateAdobe {
		t.Errorf("APP14 after the scan not noticed: %+v", f)
	}
	sos := bytes.Index(data, []byte{0xFF, 0xDA})
	for name, b := range map[string][]byte{
		"stray byte":    append(append(bytes.Clone(data[:2]), 0x00), data[2:]...),
		"no SOF":        append(bytes.Clone(data[:2]), data[sos:]...),
		"truncated":     data[:sos-3],
		"SOF3":          bytes.Replace(bytes.Clone(data), []byte{0xFF, 0xC2}, []byte{0xFF, 0xC3}, 1),
		"not a jpeg":    encodePNG(t, halves(2, 2)),
		"restart early": append(append(bytes.Clone(data[:2]), 0xFF, 0xD0), data[2:]...),
	} {
		if _, ok := readJPEGFrame(b); ok {
			t.Errorf("%s: walked", name)
		}
	}
	// The worst case is never cheaper than the frame it stands for.
	cfg := image.Config{ColorModel: color.YCbCrModel, Width: 640, Height: 480}
	if worst, exact := jpegCost([]byte("\xFF\xD8"), cfg), jpegCost(data, cfg); worst < exact {
		t.Errorf("worst case %d below the frame's cost %d", worst, exact)
	}
}

func FuzzReadJPEGFrame(f *testing.F) {
	f.Add(craftJPEG(craftedJPEG{w: 64, h: 48, progressive: true, comps: ycc(2, 2), adobe: -1}))
	f.Add(craftJPEG(craftedJPEG{w: 8, h: 8, comps: []jpegComponent{{1, 1, 1}}, jfif: true, adobe: 0}))
	f.Add(encodeJPEG(f, halves(8, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, ok := readJPEGFrame(b)
		if !ok {
			return
		}
		if len(fr.comps) == 0 || len(fr.comps) == 2 || len(fr.comps) > 4 {
			t.Fatalf("frame with %d components", len(fr.comps))
		}
		// The walk reads the frame image/jpeg reads.
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); err == nil && (cfg.Width != fr.width || cfg.Height != fr.height) {
			t.Fatalf("walked %d×%d, image/jpeg reads %d×%d", fr.width, fr.height, cfg.Width, cfg.Height)
		}
	})
}
