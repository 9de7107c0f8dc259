package profile

import (
	"net/http"

	"github.com/facetid/facet/storage"
)

// devMailShown is how many messages /dev/mail lists.
const devMailShown = 50

// devMailPage is dev_mail.html's data.
type devMailPage struct {
	Messages []storage.DevMail
}

// devMail lists the newest messages of the development mailer and SMS/voice sender, so a
// newcomer running Facet locally can read a verification code without any mail server. The
// route exists only when Config.Development is set (see contactRoutes); the messages live in
// the database, so every node shows them.
func (h *Handler) devMail(w http.ResponseWriter, r *http.Request) {
	msgs, err := h.Store.ListDevMail(r.Context(), devMailShown)
	if err != nil {
		h.serverError(w, r, "list dev mail", err)
		return
	}
	h.render(w, r, http.StatusOK, "dev_mail", devMailPage{Messages: msgs})
}
