package card

import (
	"net/http"

	"github.com/gorilla/mux"
)

// Routes registers the Public Data window, the Business Card forms and the cards on the page
// router, and the public profile and card resources on the account API (/api/account).
func (h *Handler) Routes(r, api *mux.Router) {
	r.HandleFunc("/profile/public", h.page).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/public/vcard", h.pageVCard).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/card", h.cardForm).Methods(http.MethodPost)
	r.HandleFunc("/profile/card/edit", h.editPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/card/qr", h.qrPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/users/{sub}/public", h.apiUserPublic).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(CardPath+"{identifier}", h.cardPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(CardPath+"{identifier}/qr.{format:png|svg}", h.cardQR).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(CardPath+"{identifier}/photo", h.cardPhoto).Methods(http.MethodGet, http.MethodHead)

	api.HandleFunc("/public-profile", h.apiOwnPublic).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/card", h.apiGetCard).Methods(http.MethodGet, http.MethodHead)
	api.HandleFunc("/card", h.apiPutCard).Methods(http.MethodPut)
}
