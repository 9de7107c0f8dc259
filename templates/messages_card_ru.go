package templates

// cardMessagesRU translates cardMessages (messages_card.go).
var cardMessagesRU = map[string]string{
	"card.public.button":  "Публичные данные",
	"card.public.title":   "Публичный профиль",
	"card.public.intro":   "Так вас видят другие участники и подключённые приложения: только данные с уровнем «Все».",
	"card.public.private": "Ваш профиль закрыт: ничего не публично. Выключите закрытый профиль, чтобы показать данные с уровнем «Все».",
	"card.public.empty":   "Пока ничего не публично. Установите полю уровень «Все», чтобы оно появилось здесь.",
	"card.public.name":    "Имя",
	"card.public.export":  "Экспорт vCard",

	"card.block.title":    "Визитка",
	"card.block.activity": "Активность",
	"card.block.on":       "Включена",
	"card.block.off":      "Выключена",
	"card.block.is_on":    "Вашу визитку может открыть любой, у кого есть ссылка.",
	"card.block.is_off":   "Визитка выключена: по её ссылке ничего не показывается.",
	"card.block.text":     "На визитке видны ваше фото, имя и фамилия, почта, телефон и дата рождения — независимо от уровней приватности.",
	"card.block.turn_on":  "Включить",
	"card.block.turn_off": "Выключить",
	"card.identifier":     "Идентификатор",
	"card.link":           "Ссылка",
	"card.link.inactive":  "(заработает, когда визитка включена)",
	"card.copy":           "Копировать ссылку",
	"card.copied":         "Ссылка скопирована",
	"card.qr.open":        "Открыть QR-код",
	"card.qr.title":       "QR-код вашей визитки",
	"card.qr.intro":       "Отсканируйте его камерой телефона, чтобы открыть визитку.",
	"card.qr.alt":         "QR-код ссылки %s",
	"card.qr.png":         "Скачать в PNG",
	"card.qr.inactive":    "Визитка выключена. Включите её, чтобы поделиться QR-кодом.",

	"card.edit.title": "Идентификатор визитки",
	"card.edit.intro": "Идентификатор — последняя часть ссылки на визитку. При смене старый сразу освобождается.",
	"card.edit.hint":  "От %d до %d латинских букв, цифр и дефисов; не начинается и не заканчивается дефисом.",

	"card.err.invalid":   "Используйте от %d до %d латинских букв, цифр и дефисов, без дефиса в начале и в конце.",
	"card.err.reserved":  "Этот идентификатор зарезервирован. Выберите другой.",
	"card.err.taken":     "Этот идентификатор уже занят. Выберите другой.",
	"card.err.not_found": "Здесь ничего нет.",

	"card.page.title":     "Визитка",
	"card.page.photo":     "Фото",
	"card.page.email":     "Почта",
	"card.page.phone":     "Телефон",
	"card.page.birthdate": "Дата рождения",
	"card.page.vcard":     "Сохранить контакт (vCard)",
}
