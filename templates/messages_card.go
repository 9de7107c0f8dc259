package templates

// cardMessages holds the catalog entries of the public profile (the Public Data window), the
// Business Card block, its identifier and QR code pages, and the card itself.
var cardMessages = map[string]string{
	"card.public.button":  "Public Data",
	"card.public.title":   "Public profile",
	"card.public.intro":   "This is what other members and connected apps see: only the data you set to Everyone.",
	"card.public.private": "Your profile is private: nothing is public. Turn the private profile off to show the data you set to Everyone.",
	"card.public.empty":   "Nothing is public yet. Set a field to Everyone to show it here.",
	"card.public.name":    "Name",
	"card.public.export":  "Export vCard",

	"card.block.title":    "Business Card",
	"card.block.activity": "Activity",
	"card.block.on":       "On",
	"card.block.off":      "Off",
	"card.block.is_on":    "Your business card can be opened by anyone with its link.",
	"card.block.is_off":   "Your business card is switched off; its link shows nothing.",
	"card.block.text":     "The card shows your photo, first and last name, email, phone and birth date, whatever their privacy levels.",
	"card.block.turn_on":  "Turn on",
	"card.block.turn_off": "Turn off",
	"card.identifier":     "Identifier",
	"card.link":           "Link",
	"card.link.inactive":  "(works once the card is on)",
	"card.copy":           "Copy link",
	"card.copied":         "Link copied",
	"card.qr.open":        "Open QR code",
	"card.qr.title":       "QR code of your business card",
	"card.qr.intro":       "Scan it with a phone's camera to open your card.",
	"card.qr.alt":         "QR code of %s",
	"card.qr.png":         "Download as PNG",
	"card.qr.inactive":    "Your business card is switched off. Turn it on to share its QR code.",

	"card.edit.title": "Card identifier",
	"card.edit.intro": "The identifier is the last part of your card's link. Changing it frees the old one at once.",
	"card.edit.hint":  "%d to %d Latin letters, digits and hyphens; not starting or ending with a hyphen.",

	"card.err.invalid":   "Use %d to %d Latin letters, digits and hyphens, not starting or ending with a hyphen.",
	"card.err.reserved":  "This identifier is reserved. Choose another one.",
	"card.err.taken":     "This identifier is already taken. Choose another one.",
	"card.err.not_found": "There is nothing here.",

	"card.page.title":     "Business card",
	"card.page.photo":     "Photo",
	"card.page.email":     "Email",
	"card.page.phone":     "Phone",
	"card.page.birthdate": "Birth date",
	"card.page.vcard":     "Save contact (vCard)",
}
