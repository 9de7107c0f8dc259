package profile

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
)

// A photo's processing is budgeted by the memory it needs before anything is decoded. The
// file size says little: a 234 KB progressive JPEG can declare 8000×5000 pixels, and Go's
// progressive decoder keeps every DCT coefficient (64 int32 per 8×8 block: 4 bytes per
// sample) besides the pixels, ≈ 570 MiB for that file (OWASP ASVS 5.0 V5.2.1: limit what an
// upload may cost, not only its size). photoCost reads the header and returns an upper bound
// of the bytes renderPhoto allocates; an image above photoDecodeBudget is refused, and the
// decodes running at once share maxPhotoDecodes·photoDecodeBudget (Handler.decodes), and
// the server's automatic memory limit is raised by what they hold while they run
// (Config.HoldMemory).

// photoDecodeBudget is the most one photo's processing may allocate: a 16-megapixel
// baseline JPEG (≈ 50 MB in 4:2:0 with its scaling, ≈ 75 MB in 4:4:4) or RGBA PNG (≈ 90 MB)
// fits; a progressive JPEG up to about 10 megapixels in 4:2:0 and 5 in 4:4:4. A 12-megapixel
// phone photo (baseline 4:2:0) measures 34 MiB.
const photoDecodeBudget = 96 << 20

// maxPhotoDecodes is how many budget-sized photos may be processed at once; smaller ones
// share the same total (two or three phone photos at once). Uploads are rare beside logins: a
// second large one waits a fraction of a second.
const maxPhotoDecodes = 1

// PhotoDecodeMemory is the most memory the photo decodes running at once can hold: the
// server sizes its soft memory limit with it.
func PhotoDecodeMemory() int64 { return maxPhotoDecodes * photoDecodeBudget }

// photoCostSlack covers what the estimates below leave out: decoder tables and state, the
// bufio and zlib buffers, the encoder's own buffers (≈ 1 MiB measured; ≈ 3.5 MiB under the
// race detector, where sync.Pool keeps fewer buffers).
const photoCostSlack = 4 << 20

// photoCost is an upper bound of what renderPhoto allocates for data, whose format and
// header (image.DecodeConfig) are given: the decoded image in the type the decoder returns,
// the decoder's working memory, and the scaling and encoding (scaleCost).
func photoCost(data []byte, format string, cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	var n int64
	switch format {
	case "jpeg":
		n = jpegCost(data, cfg)
	case "png":
		n = pngCost(data, cfg)
	case "webp":
		n = webpCost(data, cfg)
	default:
		// checkPhoto lets no other format through; 16 bytes per pixel bounds any decoder here.
		n = 16 * w * h
	}
	return n + scaleCost(cfg.Width, cfg.Height) + photoCostSlack
}

// jpegCost follows image/jpeg: planes of 8×8 blocks padded to whole MCUs (a Gray or YCbCr
// image, plus a fourth plane for CMYK), the coefficients of every block for a progressive
// image (256 bytes a block), and an RGBA or CMYK copy of the whole image when the decoder
// converts (four components, or three that it reads as RGB). When the header is not the
// plain sequence of segments the reader expects, the worst case is assumed.
func jpegCost(data []byte, cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	f, ok := readJPEGFrame(data)
	if !ok || int64(f.width) != w || int64(f.height) != h {
		comps := int64(4)
		switch cfg.ColorModel {
		case color.GrayModel:
			comps = 1
		case color.YCbCrModel:
			comps = 3
		}
		// Every component at full resolution, padded to the largest MCU (32×32).
		samples := comps * roundUp(w, 32) * roundUp(h, 32)
		return samples + 4*samples + 4*w*h
	}
	hmax, vmax := 1, 1
	for _, c := range f.comps {
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	if len(f.comps) == 1 {
		// The decoder treats a single component as 1×1 whatever the header says.
		hmax, vmax = 1, 1
		f.comps[0].h, f.comps[0].v = 1, 1
	}
	mxx := (w + 8*int64(hmax) - 1) / (8 * int64(hmax))
	myy := (h + 8*int64(vmax) - 1) / (8 * int64(vmax))
	var blocks int64
	for _, c := range f.comps {
		blocks += mxx * myy * int64(c.h) * int64(c.v)
	}
	n := 64 * blocks // the planes
	if f.progressive {
		n += 256 * blocks
	}
	if len(f.comps) == 4 || (len(f.comps) == 3 && f.mayBeRGB()) {
		n += 4 * w * h
	}
	return n
}

// pngCost follows image/png: the image type it returns (a grayscale header may still decode
// to NRGBA when a tRNS chunk follows, which DecodeConfig does not read), and for an
// interlaced image the seven passes besides the final image.
func pngCost(data []byte, cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	var bpp int64
	switch cfg.ColorModel.(type) {
	case color.Palette:
		bpp = 1
	default:
		switch cfg.ColorModel {
		case color.GrayModel, color.RGBAModel, color.NRGBAModel:
			bpp = 4
		default: // Gray16, RGBA64, NRGBA64
			bpp = 8
		}
	}
	n := bpp * w * h
	// IHDR: signature (8), length and type (8), width, height, depth, colour type,
	// compression, filter, interlace (offset 28).
	if len(data) < 29 || data[28] != 0 {
		n *= 2
	}
	// The rows being unfiltered: two of at most 8 bytes a pixel.
	return n + 2*(8*w+1)
}

// webpCost follows golang.org/x/image/webp: a lossy image is YCbCr 4:2:0 padded to 16×16
// macroblocks, with its partitions read into memory (at most the file); an alpha plane
// coded losslessly is decoded as a whole NRGBA image first; a lossless image is decoded
// to 4 bytes a pixel, and a colour-indexing transform expands it into a second buffer.
func webpCost(data []byte, cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	lossy := 3*roundUp(w, 16)*roundUp(h, 16)/2 + int64(len(data))
	switch cfg.ColorModel {
	case color.YCbCrModel:
		return lossy
	case color.NYCbCrAModel:
		return lossy + 9*w*h
	default: // lossless: NRGBA
		return 10*w*h + int64(len(data))
	}
}

// scaleCost is what fit, orient and the encoder allocate for a w×h source: for a source
// more than twice photoSide, the RGBA strip boxReduce reads through and the reduced image;
// the Catmull-Rom buffer of dw×sh float64 quadruples; the scaled image, its oriented copy
// and the encoded bytes.
func scaleCost(w, h int) int64 {
	dw, dh := fitSize(w, h, photoSide)
	var n int64
	sh := int64(h)
	if k := reduceFactor(w, h, photoSide); k >= 2 {
		rw, rh := int64((w+k-1)/k), int64((h+k-1)/k)
		n += 4*int64(w)*int64(k) + 4*rw*rh + 16*rw
		sh = rh
	}
	if dw != w || dh != h {
		n += 32 * int64(dw) * sh
	}
	return n + 4*int64(dw)*int64(dh)*4
}

func roundUp(n, m int64) int64 { return (n + m - 1) / m * m }

// jpegFrame is what jpegCost needs from a JPEG's header: the frame (SOF) and whether the
// decoder may read three components as RGB and convert them.
type jpegFrame struct {
	progressive   bool
	width, height int
	comps         []jpegComponent
	jfif          bool // a JFIF APP0 segment: the decoder never reads RGB then
	adobeRGB      bool // an Adobe APP14 segment with transform 0 ("unknown": RGB)
	lateAdobe     bool // an APP14 marker may follow the first scan
}

type jpegComponent struct {
	id   byte
	h, v int
}

// mayBeRGB reports whether image/jpeg may decode a three-component frame as RGB (and
// convert it to an RGBA image): never after a JFIF segment; otherwise when an Adobe segment
// says so, may say so after the first scan, or the component ids are 'R', 'G', 'B'.
func (f jpegFrame) mayBeRGB() bool {
	if f.jfif {
		return false
	}
	return f.adobeRGB || f.lateAdobe || (f.comps[0].id == 'R' && f.comps[1].id == 'G' && f.comps[2].id == 'B')
}

// maxJPEGHeaderSegments bounds the segments readJPEGFrame walks before the first scan.
const maxJPEGHeaderSegments = 256

// readJPEGFrame walks a JPEG's marker segments up to its first scan (SOS), as image/jpeg
// does when every segment follows the previous one (ITU-T T.81 B.1.1.2: fill bytes allowed).
// Anything else (stray bytes, a restart or a second SOF before the scan, an unsupported SOF)
// answers false, and the caller assumes the worst case.
func readJPEGFrame(b []byte) (jpegFrame, bool) {
	var f jpegFrame
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return f, false
	}
	i := 2
	for range maxJPEGHeaderSegments {
		if i+1 >= len(b) || b[i] != 0xFF {
			return f, false
		}
		for i+1 < len(b) && b[i+1] == 0xFF { // fill bytes
			i++
		}
		if i+4 > len(b) {
			return f, false
		}
		marker := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9) || n < 2 || i+2+n > len(b) {
			return f, false
		}
		seg := b[i+4 : i+2+n]
		switch marker {
		case 0xC0, 0xC1, 0xC2: // baseline, extended sequential, progressive
			if f.comps != nil || len(seg) < 6 {
				return f, false
			}
			nc := int(seg[5])
			if nc != 1 && nc != 3 && nc != 4 || len(seg) < 6+3*nc {
				return f, false
			}
			f.progressive = marker == 0xC2
			f.height = int(binary.BigEndian.Uint16(seg[1:]))
			f.width = int(binary.BigEndian.Uint16(seg[3:]))
			for c := range nc {
				hv := seg[7+3*c]
				ch, cv := int(hv>>4), int(hv&0x0F)
				if ch < 1 || ch > 4 || cv < 1 || cv > 4 {
					return f, false
				}
				f.comps = append(f.comps, jpegComponent{id: seg[6+3*c], h: ch, v: cv})
			}
		case 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF: // frames Go does not decode
			return f, false
		case 0xE0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				f.jfif = true
			}
		case 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" && seg[11] == 0 {
				f.adobeRGB = true
			}
		case 0xDA: // start of scan
			if f.comps == nil {
				return f, false
			}
			// Markers between later scans are read too; an Adobe one there may still turn the
			// image into RGB. Its two bytes cannot hide in entropy-coded data (0xFF is always
			// stuffed there), so their absence proves there is none.
			f.lateAdobe = bytes.Contains(b[i:], []byte{0xFF, 0xEE})
			return f, true
		}
		i += 2 + n
	}
	return f, false
}
