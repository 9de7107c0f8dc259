package photo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"github.com/gorilla/mux"

	"github.com/facetid/facet/consent"
	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// PathPrefix is where profile photos are served; the picture field holds PathPrefix + id
// (consent makes it absolute with the issuer).
const PathPrefix = "/public/images/profile/"

// photoIDPattern matches the ids newPhotoID makes (128 random bits in hex).
var photoIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// multipartOverhead is what a multipart body may carry besides the photo (boundaries, part
// headers, a small field or two).
const multipartOverhead = 64 << 10

// The photo page (POST uploads) and the API's photo resource (under profile.APIPrefix; PUT
// uploads).
const (
	photoPagePath = "/profile/photo"
	apiPhotoPath  = "/photo"
)

// BodyLimit is the request body limit of the routes that take more than a server's default:
// the photo uploads carry up to max_photo_bytes plus the multipart framing. It answers false
// for every other request. The upload handlers enforce the same limit themselves before
// reading, and answer a readable 413 beyond it.
func (h *Handler) BodyLimit(r *http.Request) (int64, bool) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == photoPagePath,
		r.Method == http.MethodPut && r.URL.Path == profile.APIPrefix+apiPhotoPath:
		return h.maxPhotoBytes() + multipartOverhead, true
	}
	return 0, false
}

// AvailablePicture is a picture offered by one of the user's linked external identifiers.
type AvailablePicture struct {
	URL    string // https URL of the image at the external provider
	Source string // the provider's display name, e.g. "GitHub"
}

// PictureSource lists the pictures a user's linked external identifiers offer (Deps.Pictures).
// Only URLs it returns are ever fetched.
type PictureSource interface {
	AvailablePictures(ctx context.Context, userID string) ([]AvailablePicture, error)
}

func newPhotoID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// photoID returns the id of a picture value of ours, or "".
func photoID(picture string) string {
	id, ok := strings.CutPrefix(picture, PathPrefix)
	if !ok || !photoIDPattern.MatchString(id) {
		return ""
	}
	return id
}

func (h *Handler) maxPhotoBytes() int64 {
	if h.cfg.MaxBytes > 0 {
		return h.cfg.MaxBytes
	}
	return defaultMaxPhotoBytes
}

func (h *Handler) errPhotoTooLarge() *profile.Error {
	return &profile.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large", Msg: "contacts.photo.too_large",
		Args: []any{h.maxPhotoBytes() >> 20}, Field: "photo"}
}

// readPhotoUpload returns the bytes of the multipart part "photo". The size limit is
// enforced before reading: a declared Content-Length above it is refused at once, and the
// body is read through http.MaxBytesReader, so a body without a length stops at the limit.
func (h *Handler) readPhotoUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := h.maxPhotoBytes()
	if r.ContentLength > limit+multipartOverhead {
		return nil, h.errPhotoTooLarge()
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		return nil, profile.Refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "contacts.photo.multipart")
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, profile.Refuse(http.StatusBadRequest, "invalid_request", "contacts.photo.multipart")
	}
	tooBig := func(err error) bool {
		var mbe *http.MaxBytesError
		return errors.As(err, &mbe)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, profile.InvalidField("photo", "contacts.photo.required")
		}
		if err != nil {
			if tooBig(err) {
				return nil, h.errPhotoTooLarge()
			}
			return nil, profile.Refuse(http.StatusBadRequest, "invalid_request", "contacts.photo.multipart")
		}
		if part.FormName() != "photo" {
			if _, err := io.Copy(io.Discard, part); err != nil && tooBig(err) {
				return nil, h.errPhotoTooLarge()
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			if tooBig(err) {
				return nil, h.errPhotoTooLarge()
			}
			return nil, profile.Refuse(http.StatusBadRequest, "invalid_request", "contacts.photo.multipart")
		}
		if int64(len(data)) > limit {
			return nil, h.errPhotoTooLarge()
		}
		if len(data) == 0 {
			return nil, profile.InvalidField("photo", "contacts.photo.required")
		}
		return data, nil
	}
}

// decodePhoto checks data (checkPhoto) and makes the stored photo of it once its cost fits
// in the decode budget left, or returns ctx's error when the client gives up waiting.
func (h *Handler) decodePhoto(ctx context.Context, data []byte) ([]byte, string, error) {
	format, cost, err := checkPhoto(data)
	if err != nil {
		return nil, "", err
	}
	if h.decodes != nil {
		if err := h.decodes.Acquire(ctx, cost); err != nil {
			return nil, "", fmt.Errorf("wait to decode photo: %w", err)
		}
		defer h.decodes.Release(cost)
	}
	if h.cfg.HoldMemory != nil {
		defer h.cfg.HoldMemory(cost)()
	}
	return renderPhoto(data, format)
}

// photoUploadsPerHour bounds the photos one account may submit per hour (uploads and
// pictures taken from linked accounts, refused ones included): each may cost a decode of up
// to photoDecodeBudget. The counter is in the database, so the limit holds across nodes.
const photoUploadsPerHour = 10

// throttlePhoto counts one photo for userID and refuses it (429) beyond photoUploadsPerHour.
func (h *Handler) throttlePhoto(ctx context.Context, userID string) error {
	now := h.now()
	window := now.Truncate(time.Hour)
	n, err := h.store.Hit(ctx, "photo:upload:"+userID, window)
	if err != nil {
		return fmt.Errorf("count photo uploads: %w", err)
	}
	if n > photoUploadsPerHour {
		ce := profile.Refuse(http.StatusTooManyRequests, "too_many_requests", "contacts.photo.throttled")
		ce.RetryAfter = window.Add(time.Hour).Sub(now)
		return ce
	}
	return nil
}

// setPhoto counts the photo toward the user's hourly limit, processes it, stores it under a new random id, points the picture field at
// it (keeping the field's privacy level) and deletes the user's previous photo, in one
// transaction. It returns the picture path.
func (h *Handler) setPhoto(ctx context.Context, o profile.Origin, userID string, data []byte, clientID string) (string, error) {
	if err := h.throttlePhoto(ctx, userID); err != nil {
		return "", err
	}
	out, contentType, err := h.decodePhoto(ctx, data)
	if err != nil {
		return "", err
	}
	id := newPhotoID()
	path := PathPrefix + id
	err = h.store.InTx(ctx, func(ctx context.Context) error {
		now := h.now()
		if err := h.store.CreatePhoto(ctx, storage.Photo{ID: id, UserID: userID, ContentType: contentType, Data: out, CreatedAt: now}); err != nil {
			return fmt.Errorf("create photo: %w", err)
		}
		// The value only: the level stays the one the person chose, or the catalog default
		// when they never chose one.
		if err := h.store.PutProfileValues(ctx, userID, map[string]string{"picture": path}, now); err != nil {
			return fmt.Errorf("put picture: %w", err)
		}
		if _, err := h.store.DeleteOtherPhotos(ctx, userID, id); err != nil {
			return fmt.Errorf("delete previous photo: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryPhotoChanged, ClientID: clientID})
	return path, nil
}

// deletePhoto deletes the user's photo id (the current one when id is ""). Another user's id
// is "not found".
func (h *Handler) deletePhoto(ctx context.Context, o profile.Origin, userID, id, clientID string) error {
	current, _, err := h.kit.FieldLevel(ctx, userID, "picture")
	if err != nil {
		return err
	}
	if id == "" {
		id = photoID(current)
	}
	if id == "" {
		return profile.Refuse(http.StatusNotFound, "not_found", "contacts.photo.none")
	}
	err = h.store.InTx(ctx, func(ctx context.Context) error {
		if err := h.store.DeletePhoto(ctx, userID, id); errors.Is(err, storage.ErrNotFound) {
			return profile.Refuse(http.StatusNotFound, "not_found", "contacts.photo.none")
		} else if err != nil {
			return fmt.Errorf("delete photo: %w", err)
		}
		if current == PathPrefix+id {
			if err := h.store.DeleteProfileField(ctx, userID, "picture"); err != nil {
				return fmt.Errorf("delete picture: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.events.Record(ctx, o, userID, profile.Event{Category: profile.CategoryPhotoDeleted, ClientID: clientID})
	return nil
}

// photoAudience is who a photo is served to, decided per request by photoAccess.
type photoAudience int

const (
	photoDenied photoAudience = iota // nobody the picture's level allows: 404
	photoPublic                      // the picture is public: anyone
	photoOwner                       // the owner, by their browser session
	photoApp                         // an app the owner's consent releases the picture to
)

// photoServe serves a stored photo to those its picture's current privacy level allows
// (photoAccess); anyone else gets the 404 of an unknown id, so a photo made private stops
// being served at once and nobody learns that it exists. Every answer must be revalidated
// before a cache reuses it (RFC 9111 §5.2.2.4 no-cache): the ETag makes that a 304, and a
// narrowed level turns it into a 404 instead of a copy that outlives the change. Answers to
// the owner or an app are private (§5.2.2.7); the answer depends on the credentials sent
// (Vary, RFC 9110 §12.5.5). nosniff and a sandboxing CSP keep a browser from reading the
// image as anything else.
func (h *Handler) photoServe(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Vary", "Cookie, Authorization")
	id := mux.Vars(r)["id"]
	if !photoIDPattern.MatchString(id) {
		photoNotFound(w, r)
		return
	}
	p, err := h.store.GetPhoto(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		photoNotFound(w, r)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, "get photo", err)
		return
	}
	audience, err := h.photoAccess(r, p)
	if err != nil {
		h.kit.ServerError(w, r, "photo access", err)
		return
	}
	switch audience {
	case photoPublic:
		hd.Set("Cache-Control", "public, no-cache")
		hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	case photoOwner, photoApp:
		hd.Set("Cache-Control", "private, no-cache")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	case photoDenied:
		photoNotFound(w, r)
		return
	default:
		photoNotFound(w, r)
		return
	}
	hd.Set("Content-Type", p.ContentType)
	hd.Set("ETag", `"`+p.ID+`"`)
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", p.CreatedAt, bytes.NewReader(p.Data))
}

// photoNotFound is the one answer for an unknown photo and for one the caller may not see;
// it is not stored by caches, so making a picture public shows it at once.
func photoNotFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.NotFound(w, r)
}

// photoAccess decides who may see photo p now. consent.Release makes every privacy decision,
// from the owner's current fields, private-profile switch and grants:
//
//   - public: when Release gives p as the picture of the public profile (the picture is
//     public and the private profile off);
//   - the owner, signed in with a browser session, always;
//   - an app: a bearer access token of the owner (RFC 6750 §2.1) for which Release gives p as
//     the userinfo picture — the token's scopes ask for it (profile) and, on request, the
//     owner's grant to that app lists picture. This is how a relying party's back end fetches
//     an on-request picture; a browser showing it in <img> sends no token, so there it loads
//     only for the owner, or for everyone once the owner makes it public.
//
// A photo that is not the owner's current picture, or of an account that is not active, is
// served to nobody.
func (h *Handler) photoAccess(r *http.Request, p storage.Photo) (photoAudience, error) {
	ctx := r.Context()
	path := PathPrefix + p.ID
	d, err := h.store.GetReleaseData(ctx, p.UserID, "")
	if errors.Is(err, storage.ErrNotFound) {
		return photoDenied, nil
	}
	if err != nil {
		return photoDenied, fmt.Errorf("release data of %q: %w", p.UserID, err)
	}
	if d.User.Status != storage.UserActive {
		return photoDenied, nil
	}
	if h.releasesPicture(consent.TargetPublicProfile, d, nil, path) {
		return photoPublic, nil
	}
	s, ok, err := h.kit.Current(r)
	if err != nil {
		return photoDenied, err
	}
	if ok && s.UserID == p.UserID && photoIDOf(d) == p.ID {
		return photoOwner, nil
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || h.tokens == nil {
		return photoDenied, nil
	}
	sub, clientID, scopes, err := h.tokens.VerifyAccessToken(ctx, strings.TrimSpace(token))
	if errors.Is(err, storage.ErrUnavailable) {
		// Whether the token is active is unknown: an outage, not "no such photo".
		return photoDenied, fmt.Errorf("verify access token: %w", err)
	}
	if err != nil || sub != p.UserID || clientID == "" {
		return photoDenied, nil
	}
	d, err = h.store.GetReleaseData(ctx, p.UserID, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return photoDenied, nil
	}
	if err != nil {
		return photoDenied, fmt.Errorf("release data of %q for %q: %w", p.UserID, clientID, err)
	}
	if d.User.Status == storage.UserActive && h.releasesPicture(consent.TargetUserinfo, d, scopes, path) {
		return photoApp, nil
	}
	return photoDenied, nil
}

// releasesPicture reports whether consent.Release gives path as the picture claim for
// target. The issuer is left empty so the claim keeps the stored path.
func (h *Handler) releasesPicture(target consent.Target, d storage.ReleaseData, scopes []string, path string) bool {
	claims := consent.Release(consent.ReleaseInput{
		Target: target, User: d.User, Fields: d.Fields, Catalog: h.catalog,
		PrivateProfile: d.PrivateProfile, Grant: d.Grant, Scopes: scopes,
	})
	v, _ := claims["picture"].(string)
	return v == path
}

// photoIDOf returns the id of the photo the user's picture field points at, or "".
func photoIDOf(d storage.ReleaseData) string {
	for _, f := range d.Fields {
		if f.Field == "picture" {
			return photoID(f.Value)
		}
	}
	return ""
}

// photoPage is contacts_photo.html's data.
type photoPage struct {
	Picture   string
	PhotoID   string
	Available []AvailablePicture
	MaxMB     int64
	Errors    map[string]string
	Alert     string
	Notice    string
	Delete    profile.Confirmation // the Delete button's confirmation, when there is a photo
}

// deleteConfirmation is the confirmation of deleting the photo id, in l.
func deleteConfirmation(l templates.Lang, id string) profile.Confirmation {
	return profile.Confirmation{
		ID:          "photo-delete-dialog",
		Title:       l.T("contacts.photo.delete.title"),
		Consequence: l.T("contacts.photo.delete.consequence"),
		Button:      l.T("contacts.photo.delete.button"),
		Action:      "/profile/photo/delete",
		CancelURL:   photoPagePath,
		Fields:      []profile.HiddenField{{Name: "id", Value: id}},
	}
}

// photoDeletePage is GET /profile/photo/delete?id=…: the confirmation without JavaScript.
func (h *Handler) photoDeletePage(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	h.kit.ConfirmPage(w, r, u, deleteConfirmation(templates.LangFrom(r.Context()), r.URL.Query().Get("id")))
}

func (h *Handler) newPhotoPage(ctx context.Context, userID string) (photoPage, error) {
	p := photoPage{Errors: map[string]string{}, MaxMB: h.maxPhotoBytes() >> 20}
	current, _, err := h.kit.FieldLevel(ctx, userID, "picture")
	if err != nil {
		return p, err
	}
	if id := photoID(current); id != "" {
		p.Picture, p.PhotoID = current, id
		p.Delete = deleteConfirmation(templates.LangFrom(ctx), id)
	}
	if h.pictures != nil {
		list, err := h.pictures.AvailablePictures(ctx, userID)
		if err != nil {
			// The button is hidden; the page still works.
			h.logger.WarnContext(ctx, "available pictures", "user_id", userID, "err", err)
		}
		p.Available = list
	}
	return p, nil
}

func (h *Handler) photoPage(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	page, err := h.newPhotoPage(r.Context(), u.ID)
	if err != nil {
		h.kit.ServerError(w, r, "photo page", err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "saved":
		page.Notice = templates.Tr(r.Context(), "contacts.photo.saved")
	case "deleted":
		page.Notice = templates.Tr(r.Context(), "contacts.photo.deleted")
	}
	h.kit.RenderAccount(w, r, http.StatusOK, "contacts_photo", "/profile", u, page)
}

func (h *Handler) photoError(w http.ResponseWriter, r *http.Request, u storage.User, err error) {
	ce, ok := profile.AsError(err)
	if !ok {
		h.kit.ServerError(w, r, "photo", err)
		return
	}
	page, perr := h.newPhotoPage(r.Context(), u.ID)
	if perr != nil {
		h.kit.ServerError(w, r, "photo page", perr)
		return
	}
	if ce.Field != "" {
		page.Errors[ce.Field] = ce.Text(templates.LangFrom(r.Context()))
	} else {
		page.Alert = ce.Text(templates.LangFrom(r.Context()))
	}
	if ce.Status == http.StatusRequestEntityTooLarge {
		// The rest of the body was not read; do not keep the connection for another request.
		w.Header().Set("Connection", "close")
	}
	h.kit.RenderAccount(w, r, ce.Status, "contacts_photo", "/profile", u, page)
}

func (h *Handler) photoUpload(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok {
		return
	}
	data, err := h.readPhotoUpload(w, r)
	if err == nil {
		_, err = h.setPhoto(r.Context(), h.kit.Origin(r), u.ID, data, "")
	}
	if err != nil {
		h.photoError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/profile/photo?done=saved", http.StatusSeeOther)
}

func (h *Handler) photoDelete(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.kit.ParseForm(w, r) {
		return
	}
	err := h.deletePhoto(r.Context(), h.kit.Origin(r), u.ID, r.PostForm.Get("id"), "")
	if ce, ok := profile.AsError(err); ok && ce.Status == http.StatusNotFound {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.photoError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/profile/photo?done=deleted", http.StatusSeeOther)
}

// photoAvailable takes a picture the user's external identifiers offer. Nothing is fetched
// unless the URL is in the PictureSource's list for this user.
func (h *Handler) photoAvailable(w http.ResponseWriter, r *http.Request) {
	u, _, ok := h.kit.SignedIn(w, r)
	if !ok || !h.kit.ParseForm(w, r) {
		return
	}
	ctx := r.Context()
	want := r.PostForm.Get("url")
	var list []AvailablePicture
	if h.pictures != nil {
		var err error
		if list, err = h.pictures.AvailablePictures(ctx, u.ID); err != nil {
			h.kit.ServerError(w, r, "available pictures", err)
			return
		}
	}
	found := false
	for _, p := range list {
		if p.URL == want {
			found = true
			break
		}
	}
	if !found {
		h.kit.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	data, err := h.fetchPicture(ctx, want)
	if err == nil {
		_, err = h.setPhoto(ctx, h.kit.Origin(r), u.ID, data, "")
	}
	if err != nil {
		h.photoError(w, r, u, err)
		return
	}
	http.Redirect(w, r, "/profile/photo?done=saved", http.StatusSeeOther)
}

// fetchPicture downloads an offered picture over https, bounded in time and size.
func (h *Handler) fetchPicture(ctx context.Context, raw string) ([]byte, error) {
	failed := profile.Refuse(http.StatusUnprocessableEntity, "validation_failed", "contacts.photo.fetch_failed")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(h.cfg.Development && u.Scheme == "http")) {
		return nil, failed
	}
	client := h.client
	switch {
	case client != nil:
	case h.cfg.Development:
		client = &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	default:
		client = publicHTTPSClient()
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, failed
	}
	req.Header.Set("Accept", "image/jpeg, image/png, image/webp")
	res, err := client.Do(req)
	if err != nil {
		h.logger.WarnContext(ctx, "fetch available picture", "host", u.Host, "err", err)
		return nil, failed
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		h.logger.WarnContext(ctx, "fetch available picture", "host", u.Host, "status", res.StatusCode)
		return nil, failed
	}
	limit := h.maxPhotoBytes()
	if res.ContentLength > limit {
		return nil, h.errPhotoTooLarge()
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, failed
	}
	if int64(len(data)) > limit {
		return nil, h.errPhotoTooLarge()
	}
	return data, nil
}

// publicDialer dials public addresses on port 443 only (see publicHTTPSClient).
func publicDialer() *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, Control: ssrf.New(ssrf.WithPorts(443)).Safe}
}

// publicHTTPSClient reaches only public addresses on port 443, checked on the address
// actually dialled (so DNS cannot steer it inside): code.dny.dev/ssrf refuses every prefix of
// the IANA special-purpose registries (loopback, private, shared 100.64.0.0/10, benchmarking,
// documentation, link-local, NAT64, 6to4, ...), the usual server-side request forgery targets
// (OWASP ASVS 5.0 V1.3.6). It follows at most 3 redirects, all https.
func publicHTTPSClient() *http.Client {
	dialer := publicDialer()
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  10 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 || req.URL.Scheme != "https" {
				return errors.New("redirect refused")
			}
			return nil
		},
	}
}

// apiPhotoPut: PUT /api/account/photo (multipart "photo") → 200 {"picture": path}.
func (h *Handler) apiPhotoPut(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	data, err := h.readPhotoUpload(w, r)
	var path string
	if err == nil {
		path, err = h.setPhoto(r.Context(), h.kit.Origin(r), c.User.ID, data, c.ClientID)
	}
	if err != nil {
		if ce, ok := profile.AsError(err); ok && ce.Status == http.StatusRequestEntityTooLarge {
			w.Header().Set("Connection", "close")
		}
		h.kit.APIError(w, r, "photo upload", err)
		return
	}
	h.kit.WriteJSON(w, r, http.StatusOK, map[string]any{"picture": path})
}

// apiPhotoDelete: DELETE /api/account/photo → 204; 404 when there is no photo.
func (h *Handler) apiPhotoDelete(w http.ResponseWriter, r *http.Request) {
	c := profile.CallerFrom(r.Context())
	if err := h.deletePhoto(r.Context(), h.kit.Origin(r), c.User.ID, "", c.ClientID); err != nil {
		h.kit.APIError(w, r, "photo delete", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
