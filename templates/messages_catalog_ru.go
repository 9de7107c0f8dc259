package templates

// catalogMessagesRU translates catalogMessages (messages_catalog.go).
var catalogMessagesRU = map[string]string{
	"catalog.button":          "Каталог",
	"catalog.title":           "Каталог",
	"catalog.intro":           "Приложения, в которые можно войти с учётной записью Facet. Выберите приложение, чтобы открыть его; звёздочка добавляет его в избранное.",
	"catalog.empty":           "В каталоге пока нет приложений.",
	"catalog.group.other":     "Другие",
	"catalog.no_home":         "У этого приложения нет главной страницы.",
	"catalog.star.add":        "Добавить %s в избранное",
	"catalog.star.remove":     "Убрать %s из избранного",
	"catalog.notice.added":    "%s — в избранном.",
	"catalog.notice.removed":  "%s больше нет в избранном.",
	"catalog.favorites.empty": "Отметьте приложение звёздочкой в каталоге, и оно появится здесь.",
	"catalog.api.not_found":   "В вашем каталоге нет такого приложения.",
}
