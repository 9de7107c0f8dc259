package profile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"golang.org/x/image/draw"
	// Registers the WebP decoder with image.Decode and image.DecodeConfig.
	_ "golang.org/x/image/webp"
)

// Profile photos: the upload is bounded before it is read, its type is sniffed from its bytes
// (JPEG, PNG or WebP; never SVG), its dimensions are read from the header with
// image.DecodeConfig and refused above the limits before anything is decoded (a 100-byte PNG
// can declare 20000×20000 pixels), and so is an image whose processing would need more than
// photoDecodeBudget (photoCost: a small progressive JPEG can need hundreds of MB). The EXIF
// orientation of a JPEG is applied, the image is scaled to fit photoSide and encoded again,
// which drops every metadata block.

// Photo limits. maxPhotoPixels is 16 megapixels: a phone's 12-megapixel photo (4032×3024)
// passes, as does 4000×4000.
const (
	defaultMaxPhotoBytes = 5 << 20
	maxPhotoSide         = 8000
	maxPhotoPixels       = 16_000_000
	photoSide            = 512
	photoJPEGQuality     = 85
)

// Photo refusals.
var (
	errPhotoType       = &contactError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Msg: "contacts.photo.type", Field: "photo"}
	errPhotoDimensions = &contactError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Msg: "contacts.photo.dimensions", Args: []any{maxPhotoPixels / 1_000_000, maxPhotoSide}, Field: "photo"}
	errPhotoMemory     = &contactError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Msg: "contacts.photo.memory", Field: "photo"}
	errPhotoCorrupt    = &contactError{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Msg: "contacts.photo.corrupt", Field: "photo"}
)

// sniffImage names the format of data from its magic bytes: "jpeg", "png", "webp" or "".
func sniffImage(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return "jpeg"
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		return "png"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// checkPhoto reads data's header and refuses what renderPhoto must not decode: an unknown
// or mislabelled type, dimensions above the limits, a cost above photoDecodeBudget. It
// returns the format and the cost (photoCost).
func checkPhoto(data []byte) (string, int64, error) {
	format := sniffImage(data)
	if format == "" {
		return "", 0, errPhotoType
	}
	cfg, name, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", 0, errPhotoCorrupt
	}
	if name != format {
		return "", 0, errPhotoType
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPhotoSide || cfg.Height > maxPhotoSide ||
		cfg.Width*cfg.Height > maxPhotoPixels {
		return "", 0, errPhotoDimensions
	}
	cost := photoCost(data, format, cfg)
	if cost > photoDecodeBudget {
		return "", 0, errPhotoMemory
	}
	return format, cost, nil
}

// renderPhoto decodes an image checkPhoto accepted and makes the stored photo of it:
// oriented, scaled to fit photoSide×photoSide and re-encoded (JPEG, or PNG when it has
// transparency).
func renderPhoto(data []byte, format string) ([]byte, string, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", errPhotoCorrupt
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(data)
	}
	out := orient(fit(img, photoSide), orientation)
	var buf bytes.Buffer
	if out.Opaque() {
		if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: photoJPEGQuality}); err != nil {
			return nil, "", fmt.Errorf("encode jpeg: %w", err)
		}
		return buf.Bytes(), "image/jpeg", nil
	}
	if err := png.Encode(&buf, out); err != nil {
		return nil, "", fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), "image/png", nil
}

// fitSize is the size fit scales a w×h image to: the same when it fits side×side, otherwise
// scaled down keeping its aspect ratio.
func fitSize(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, h*side/w)
	}
	return max(1, w*side/h), side
}

// reduceFactor is the factor boxReduce shrinks a w×h image by before fit's Catmull-Rom pass,
// so that pass reads at most 2·side pixels each way; 1 means no reduction.
func reduceFactor(w, h, side int) int {
	return max(1, (max(w, h)+2*side-1)/(2*side))
}

// fit scales img down (never up) to fit side×side, with Catmull-Rom resampling, into a new
// NRGBA image with its origin at (0, 0). A large image is first box-filtered by an integer
// factor (boxReduce): Catmull-Rom's buffer holds dw×sh float64 quadruples, 64 MB for a
// 4000-pixel-high source, but only 16 MB for one reduced to 2·side.
func fit(img image.Image, side int) *image.NRGBA {
	b := img.Bounds()
	w, h := fitSize(b.Dx(), b.Dy(), side)
	if k := reduceFactor(b.Dx(), b.Dy(), side); k >= 2 {
		img = boxReduce(img, k)
		b = img.Bounds()
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	}
	return dst
}

// boxReduce shrinks src by the factor k: each pixel of the result is the average of a k×k
// block (smaller at the right and bottom edges), in premultiplied RGBA, so transparent
// pixels do not darken their neighbours. src is read k rows at a time through one RGBA strip,
// which draw converts from any image type.
func boxReduce(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	rw, rh := (w+k-1)/k, (h+k-1)/k
	dst := image.NewRGBA(image.Rect(0, 0, rw, rh))
	strip := image.NewRGBA(image.Rect(0, 0, w, k))
	sums := make([]uint32, 4*rw)
	for ry := range rh {
		y0 := b.Min.Y + ry*k
		rows := min(k, b.Max.Y-y0)
		draw.Draw(strip, image.Rect(0, 0, w, rows), src, image.Pt(b.Min.X, y0), draw.Src)
		clear(sums)
		for y := range rows {
			row := strip.Pix[y*strip.Stride : y*strip.Stride+4*w]
			for x := range w {
				s := sums[4*(x/k) : 4*(x/k)+4]
				p := row[4*x : 4*x+4]
				s[0] += uint32(p[0])
				s[1] += uint32(p[1])
				s[2] += uint32(p[2])
				s[3] += uint32(p[3])
			}
		}
		out := dst.Pix[ry*dst.Stride : ry*dst.Stride+4*rw]
		for rx := range rw {
			n := uint32(min(k, w-rx*k) * rows)
			for c := range 4 {
				out[4*rx+c] = uint8((sums[4*rx+c] + n/2) / n)
			}
		}
	}
	return dst
}

// orient applies an EXIF orientation (1–8, TIFF 6.0 tag 0x0112) so the image shows upright.
func orient(src *image.NRGBA, o int) *image.NRGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored horizontally
				dx, dy = w-1-x, y
			case 3: // rotated 180°
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored vertically
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // needs a 90° clockwise turn
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // needs a 90° counter-clockwise turn
				dx, dy = y, w-1-x
			}
			si := src.PixOffset(x, y)
			di := dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// Bounds of the EXIF reader: how many JPEG segments it walks and how many IFD entries.
const (
	maxJPEGSegments = 64
	maxIFDEntries   = 512
)

// jpegOrientation returns the EXIF Orientation of a JPEG (1–8), or 1 when there is none or
// the metadata is damaged. It walks the marker segments before the image data (bounded), and
// reads IFD0 of the first "Exif" APP1 segment; every offset is checked against the segment.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	i := 2
	for range maxJPEGSegments {
		if i+4 > len(b) || b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD9 || marker == 0xDA: // end of image, start of scan: no more metadata
			return 1
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // no length
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o, ok := tiffOrientation(seg[6:]); ok {
				return o
			}
			return 1
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads the Orientation tag (0x0112, SHORT, count 1) of IFD0 of a TIFF
// structure (the body of an Exif segment).
func tiffOrientation(t []byte) (int, bool) {
	if len(t) < 8 {
		return 0, false
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, false
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0, false
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 0, false
	}
	count := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for k := 0; k < count && k < maxIFDEntries; k++ {
		e := p + 12*k
		if e+12 > len(t) {
			return 0, false
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 { // SHORT, one value
			return 0, false
		}
		v := int(bo.Uint16(t[e+8:]))
		if v < 1 || v > 8 {
			return 0, false
		}
		return v, true
	}
	return 0, false
}
